"""Opens a sealed record with Apache Avro's Python implementation and
pyca/cryptography, from the formats written in docs/DESIGN.md ("Personal
data on the log") and internal/fieldcrypt's package comment, with code we
did not write. Run by interop_test.go with Debian's /usr/bin/python3.

  open_record.py KEY_HEX DOMAIN SEALED_SCHEMA_FILE CLEAR_SCHEMA_FILE RECORD_HEX

Decodes the sealed record (a Confluent wire-format value), opens every
field the sealed schema holds as bytes where the clear one does not, puts
each back, and prints the clear record's Avro encoding in hex (exit 1 if
a field does not open).
"""
import io
import json
import sys

import avro.io
import avro.schema
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

key, domain, sealed_file, clear_file, record = sys.argv[1:6]
key, record = bytes.fromhex(key), bytes.fromhex(record)
sealed = avro.schema.parse(open(sealed_file).read())
clear = avro.schema.parse(open(clear_file).read())
if record[0] != 0:
    sys.exit("not Confluent wire format")
value = avro.io.DatumReader(sealed).read(avro.io.BinaryDecoder(io.BytesIO(record[5:])))
meta = value["meta"]
clear_fields = {f.name: f for f in clear.fields}
for f in sealed.fields:
    cf = clear_fields[f.name]
    if f.type.type != "bytes" or cf.type.type == "bytes":
        continue
    env = value[f.name]
    if env[0] != 1:
        sys.exit("not a version-1 envelope")
    key_id, nonce, ct = env[1:17], env[17:29], env[29:]
    aad = b"passerelle-field/v1"
    for part in (domain, meta["subject"], meta["record_id"], f.name):
        aad += b"\x00" + part.encode()
    aad += b"\x00\x01" + key_id
    try:
        plain = AESGCM(key).decrypt(nonce, ct, aad)
    except InvalidTag:
        sys.exit(1)
    value[f.name] = avro.io.DatumReader(cf.type).read(avro.io.BinaryDecoder(io.BytesIO(plain)))
out = io.BytesIO()
avro.io.DatumWriter(clear).write(value, avro.io.BinaryEncoder(out))
print(out.getvalue().hex())
