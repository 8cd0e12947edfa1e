"""Verifies Passerelle record signatures with python-jwcrypto (Debian's
python3-jwcrypto), knowing nothing but the JWKS the gateway serves.
Run by interop_test.go with /usr/bin/python3.

  jwcrypto_verify.py JWKS_URL RECORDS.json

RECORDS.json is a list of {"value": base64url, "sig": compact JWS} or
{"value": ..., "batch": passerelle-batch header}. Prints a JSON list of
booleans, one per record.

jwcrypto 1.1 has no detached-payload API, so the payload is put back into
the compact JWS, as RFC 7515 appendix F describes. The batch Merkle check is
written here from RFC 9162, independently of the Go code.
"""
import base64
import hashlib
import json
import sys
import urllib.request

from jwcrypto import jwk, jws


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def verify_detached(keys, compact, payload):
    header, body, sig = compact.split(".")
    if body != "":
        return None
    protected = json.loads(b64d(header))
    key = keys.get_key(protected["kid"])
    if key is None:
        return None
    token = jws.JWS()
    token.deserialize(".".join([header, b64e(payload), sig]))
    token.verify(key, alg=protected["alg"])
    return protected


def root_from_path(leaf, index, size, path):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        raise ValueError("index")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ValueError("path too long")
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("path too short")
    return r


def check(keys, rec):
    value = b64d(rec["value"])
    try:
        if "sig" in rec:
            return verify_detached(keys, rec["sig"], value) is not None
        h = json.loads(rec["batch"])
        leaf = hashlib.sha256(b"\x00" + value).digest()
        root = root_from_path(leaf, h["index"], h["size"], [b64d(p) for p in h["path"]])
        protected = verify_detached(keys, h["root_sig"], root)
        return protected is not None and protected.get("tree_size") == h["size"]
    except Exception:
        return False


url, path = sys.argv[1], sys.argv[2]
with urllib.request.urlopen(url) as resp:
    keys = jwk.JWKSet.from_json(resp.read().decode())
records = json.load(open(path))
print(json.dumps([check(keys, r) for r in records]))
