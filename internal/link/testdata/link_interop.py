"""The linkage header read and written by pyca/cryptography, from the
format in docs/DESIGN.md alone, to check ours against.

  link_interop.py open <link-seal key file> <domain> <subject> <record id> <header>
      prints the hex link id sealed in the header
  link_interop.py seal <link-seal key file> <domain> <subject> <record id> <hex id>
      prints a header for that id
  link_interop.py id <link key file> <nir>
      prints the hex link id of a NIR
"""
import base64
import hashlib
import hmac
import os
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def seal_key(path):
    with open(path, "rb") as f:
        return hmac.new(f.read(), b"passerelle-link-seal/v1", hashlib.sha256).digest()


def aad(domain, subject, record_id):
    return b"\x00".join(s.encode() for s in (domain, subject, record_id))


def main(verb, key_file, *args):
    if verb == "open":
        domain, subject, record_id, header = args
        raw = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        if len(raw) != 45 or raw[0] != 1:
            sys.exit("not a version-1 token")
        pt = AESGCM(seal_key(key_file)).decrypt(raw[1:13], raw[13:], aad(domain, subject, record_id))
        print(pt.hex())
    elif verb == "seal":
        domain, subject, record_id, id_hex = args
        nonce = os.urandom(12)
        ct = AESGCM(seal_key(key_file)).encrypt(nonce, bytes.fromhex(id_hex), aad(domain, subject, record_id))
        print(base64.urlsafe_b64encode(b"\x01" + nonce + ct).rstrip(b"=").decode())
    elif verb == "id":
        (nir,) = args
        with open(key_file, "rb") as f:
            print(hmac.new(f.read(), nir.encode(), hashlib.sha256).digest()[:16].hex())
    else:
        sys.exit("unknown verb " + verb)


if __name__ == "__main__":
    main(*sys.argv[1:])
