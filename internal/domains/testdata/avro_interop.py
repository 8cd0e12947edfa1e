"""Apache Avro's own Python implementation (Debian's python3-avro) against
our encodings, run by interop_test.go with /usr/bin/python3.

  avro_interop.py decode SCHEMA.avsc IN.bin OUT.bin  -> prints the datum as JSON,
                                                        writes it re-encoded
  avro_interop.py write-household SCHEMA.avsc ID OUT.bin
"""
import datetime
import decimal
import io
import json
import struct
import sys

import avro.io
import avro.schema


def load(path):
    with open(path) as f:
        return avro.schema.parse(f.read())


def encode(schema, schema_id, datum):
    buf = io.BytesIO()
    buf.write(struct.pack(">bI", 0, schema_id))
    avro.io.DatumWriter(schema).write(datum, avro.io.BinaryEncoder(buf))
    return buf.getvalue()


def plain(v):
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    raise TypeError(type(v))


def decode(schema_path, in_path, out_path):
    schema = load(schema_path)
    data = open(in_path, "rb").read()
    magic, schema_id = struct.unpack(">bI", data[:5])
    assert magic == 0, magic
    datum = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(data[5:])))
    print(json.dumps(datum, default=plain, sort_keys=True))
    open(out_path, "wb").write(encode(schema, schema_id, datum))


def write_household(schema_path, schema_id, out_path):
    utc = datetime.timezone.utc
    datum = {
        "meta": {
            "record_id": "py-rec-1",
            "subject": "py-subject",
            "source": "python-avro",
            "event_time": datetime.datetime(2025, 12, 31, 23, 59, 59, 999000, tzinfo=utc),
            "op": "DELETE",
        },
        "tax_year": 2024,
        "household_id": "9912345678901",
        "role": "DEPENDANT",
        "shares": decimal.Decimal("1.75"),
        "reference_income_cents": 0,
        "taxable_income_cents": 123456789012,
        "tax_due_cents": -5000,
        "dependants": 0,
        "commune_code": "2B033",
        "withholding_rate_bp": None,
    }
    open(out_path, "wb").write(encode(load(schema_path), int(schema_id), datum))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"decode": decode, "write-household": write_household}[cmd](*args)
