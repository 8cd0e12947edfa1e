"""Opens a field envelope with pyca/cryptography, from the format written in
internal/fieldcrypt's package comment, with code we did not write. Run by
interop_test.go with Debian's /usr/bin/python3.

  open_envelope.py KEY_HEX DOMAIN SUBJECT RECORD_ID FIELD ENVELOPE_HEX

Prints the value, or exits 1 if the envelope does not open.
"""
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

key, domain, subject, record_id, field, env = sys.argv[1:7]
key, env = bytes.fromhex(key), bytes.fromhex(env)
if env[0] != 1:
    sys.exit("not a version-1 envelope")
key_id, nonce, sealed = env[1:17], env[17:29], env[29:]
aad = b"passerelle-field/v1"
for part in (domain, subject, record_id, field):
    aad += b"\x00" + part.encode()
aad += b"\x00\x01" + key_id
try:
    print(AESGCM(key).decrypt(nonce, sealed, aad).decode())
except InvalidTag:
    sys.exit(1)
