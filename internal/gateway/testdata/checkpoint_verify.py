"""Checks a gateway's audit checkpoint and proofs with code we did not write
for the cryptography (python3-jwcrypto and the cryptography module under it)
and an RFC 9162 verifier written from the RFC, not from our Go code.

usage: checkpoint_verify.py CASES.json
CASES.json: {"jwks": {...}, "name": member id of the gateway,
             "notes": [signed note, ...],
             "inclusions": [{"leaf": base64 value, "index": i, "size": n,
                             "root": base64, "proof": [base64, ...]}, ...],
             "consistencies": [{"first": m, "first_root": base64, "size": n,
                                "root": base64, "proof": [base64, ...]}, ...]}
prints {"notes": [bool, ...], "inclusions": [bool, ...], "consistencies": [bool, ...]}
"""
import base64
import hashlib
import json
import sys

from jwcrypto import jwk


def note_ok(note, name, keys):
    """C2SP signed-note: an Ed25519 signature by `name` over the text."""
    text, sep, sigs = note.rpartition("\n\n")
    if not sep:
        return False
    text += "\n"
    for line in sigs.splitlines():
        if not line.startswith("\u2014 "):
            return False
        signer, _, b64 = line[2:].rpartition(" ")
        if signer != name:
            continue
        raw = base64.b64decode(b64)
        key_hash, sig = raw[:4], raw[4:]
        for pub in keys:
            want = hashlib.sha256(name.encode() + b"\n" + b"\x01" + pub).digest()[:4]
            if want != key_hash:
                continue
            k = jwk.JWK.from_json(json.dumps({"kty": "OKP", "crv": "Ed25519",
                                              "x": base64.urlsafe_b64encode(pub).rstrip(b"=").decode()}))
            try:
                k.get_op_key("verify").verify(sig, text.encode())
                return True
            except Exception:
                return False
    return False


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def inclusion_ok(c):
    """RFC 9162, 2.1.3.2."""
    index, size = c["index"], c["size"]
    if index >= size:
        return False
    fn, sn = index, size - 1
    r = hashlib.sha256(b"\x00" + base64.b64decode(c["leaf"])).digest()
    for p in map(base64.b64decode, c["proof"]):
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == base64.b64decode(c["root"])


def consistency_ok(c):
    """RFC 9162, 2.1.4.2."""
    first, second = c["first"], c["size"]
    first_hash, second_hash = base64.b64decode(c["first_root"]), base64.b64decode(c["root"])
    path = [base64.b64decode(p) for p in c["proof"]]
    if first == second:
        return not path and first_hash == second_hash
    if first & (first - 1) == 0:
        path = [first_hash] + path
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for p in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(p, fr), node(p, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, p)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def main():
    cases = json.load(open(sys.argv[1]))
    keys = []
    for k in cases["jwks"]["keys"]:
        if k.get("crv") == "Ed25519":
            keys.append(base64.urlsafe_b64decode(k["x"] + "=" * (-len(k["x"]) % 4)))
    print(json.dumps({
        "notes": [note_ok(n, cases["name"], keys) for n in cases["notes"]],
        "inclusions": [inclusion_ok(c) for c in cases["inclusions"]],
        "consistencies": [consistency_ok(c) for c in cases["consistencies"]],
    }))


main()
