"""Reads one of our topics the way a Confluent client would, with code we did
not write: confluent-kafka's Consumer (librdkafka) fetches the records, its
SchemaRegistryClient asks our registry for the writer's schema by id, and
Apache Avro's Python implementation decodes the value. Run by
confluent_test.go with Debian's /usr/bin/python3.

  confluent_consume.py TOPIC REGISTRY_URL KEY_SUFFIX COUNT [PROPERTY=VALUE]...

The properties are librdkafka's (bootstrap.servers, security.protocol,
ssl.ca.location, ...): how to reach the broker and as whom.

Prints one JSON line per record whose key ends with KEY_SUFFIX (a shared
broker may hold other runs' records), until COUNT of them, then a summary
line of the registry's answers.
"""
import datetime
import decimal
import io
import json
import struct
import sys

import avro.io
import avro.schema
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient


def plain(v):
    if isinstance(v, (datetime.date, datetime.datetime, decimal.Decimal)):
        return str(v)
    raise TypeError(type(v))


topic, url, suffix, count = sys.argv[1:4] + [int(sys.argv[4])]
settings = dict(arg.split("=", 1) for arg in sys.argv[5:])
registry = SchemaRegistryClient({"url": url})
consumer = Consumer({
    **settings,
    "group.id": "confluent-interop-" + topic,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
})
consumer.subscribe([topic])
seen, idle = 0, 0
while seen < count:
    msg = consumer.poll(0.1)
    if msg is None:
        # Only empty polls count towards giving up: the topic may hold
        # many records of other tests before ours.
        idle += 1
        if idle > 600:
            sys.exit(f"only {seen} of {count} records after 60 s without news")
        continue
    if msg.error():
        sys.exit(f"consumer error: {msg.error()}")
    if not msg.key().decode().endswith(suffix):
        continue
    value = msg.value()
    magic, schema_id = struct.unpack(">bI", value[:5])
    schema = registry.get_schema(schema_id)
    reader = avro.io.DatumReader(avro.schema.parse(schema.schema_str))
    datum = reader.read(avro.io.BinaryDecoder(io.BytesIO(value[5:])))
    headers = {k: v.decode() for k, v in (msg.headers() or [])}
    print(json.dumps({"key": msg.key().decode(), "id": schema_id, "magic": magic,
                      "headers": headers, "datum": datum}, default=plain, sort_keys=True))
    seen += 1
consumer.close()

subject = topic + "-value"
latest = registry.get_latest_version(subject)
looked_up = registry.lookup_schema(subject, latest.schema)
print(json.dumps({
    "subjects": registry.get_subjects(),
    "versions": registry.get_versions(subject),
    "latest": {"version": latest.version, "id": latest.schema_id},
    "lookup": {"version": looked_up.version, "id": looked_up.schema_id},
    "compatibility": registry.get_compatibility(subject),
}))
