"""What a principal sees through the stock Confluent Python client
(librdkafka), with code we did not write. Run by stock_test.go with
Debian's /usr/bin/python3.

  stock_client.py TOPIC,... [PROPERTY=VALUE]...

Prints one JSON line: the topics the cluster lists to this principal, and
for each TOPIC asked, "ok" if reading it from the beginning raised no
error within a few seconds, or the error's name (TOPIC_AUTHORIZATION_FAILED).
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

topics = sys.argv[1].split(",")
settings = dict(arg.split("=", 1) for arg in sys.argv[2:])



errors = []


def consumer():
    # librdkafka wants a group even to read assigned partitions; this
    # principal has none, and the group's refusal is not the topic's. A
    # topic refused is reported through error_cb, not as a message.
    return Consumer({**settings, "group.id": "stock-client", "enable.auto.commit": False,
                     "enable.partition.eof": True, "error_cb": errors.append})


c = consumer()
listed = sorted(t for t in c.list_topics(timeout=20).topics if not t.startswith("__"))
c.close()
reads = {}
for topic in topics:
    c = consumer()
    errors.clear()
    # A refused topic is left out of the metadata, so an assignment just
    # waits; the broker names the refusal when asked about the topic.
    refusal = c.list_topics(topic=topic, timeout=10).topics[topic].error
    if refusal is not None:
        reads[topic] = refusal.name()
        c.close()
        continue
    c.assign([TopicPartition(topic, 0, -2)])  # OFFSET_BEGINNING
    verdict = "no end of partition"
    deadline = time.time() + 6
    while time.time() < deadline:
        try:
            msg = c.poll(0.5)
        except KafkaException as e:
            verdict = e.args[0].name()
            break
        refused = [e for e in errors if e.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED]
        if refused:
            verdict = refused[0].name()
            break
        if msg is None or not msg.error():
            continue
        code = msg.error().code()
        if code == KafkaError._PARTITION_EOF:
            verdict = "ok"
            break
        if code != KafkaError.GROUP_AUTHORIZATION_FAILED:
            verdict = msg.error().name()
            break
    reads[topic] = verdict
    c.close()
print(json.dumps({"listed": listed, "reads": reads}))
