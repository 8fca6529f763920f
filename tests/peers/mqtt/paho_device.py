#!/usr/bin/python3
"""A JSON MQTT device with Eclipse paho (Debian python3-paho-mqtt 1.6), MQTT 3.1.1.

Usage: paho_device.py PORT DEVICE SECRET ASSET_PATH
Logs in as the device, subscribes to ASSET_PATH/$cmd/+ and prints "READY <granted qos>"
once the SUBACK arrived. Then waits (up to 20 s) for one command
{"value", "id", "ts", "by"}, applies it by publishing the value as telemetry on
ASSET_PATH/<tag> at QoS 1 and prints "APPLIED <tag> <value> <id> <by>" once acknowledged,
and exits 0. Anything else prints "FAIL: ..." and exits 1. Run by
tests/app/mqtt_devices_test.cc.
"""
import json
import queue
import sys

import paho.mqtt.client as mqtt

PORT, DEVICE, SECRET, ASSET = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


events = queue.Queue()
client = mqtt.Client(client_id=DEVICE, clean_session=True, protocol=mqtt.MQTTv311)
client.username_pw_set(DEVICE, SECRET)
client.on_connect = lambda c, u, flags, rc: events.put(("connack", rc))
client.on_subscribe = lambda c, u, mid, granted: events.put(("suback", granted))
client.on_message = lambda c, u, m: events.put(("message", m.topic, m.payload.decode()))
client.on_publish = lambda c, u, mid: events.put(("puback", mid))
client.connect("127.0.0.1", PORT, keepalive=30)
client.loop_start()


def expect(kind, timeout):
    try:
        event = events.get(timeout=timeout)
    except queue.Empty:
        fail("no %s within %s s" % (kind, timeout))
    if event[0] != kind:
        fail("expected %s, got %r" % (kind, event))
    return event


rc = expect("connack", 5)[1]
if rc != 0:
    fail("CONNACK return code %d" % rc)
client.subscribe(ASSET + "/$cmd/+", qos=1)
granted = expect("suback", 5)[1]
print("READY %d" % granted[0], flush=True)
_, topic, payload = expect("message", 20)
prefix = ASSET + "/$cmd/"
if not topic.startswith(prefix):
    fail("command on unexpected topic " + topic)
tag = topic[len(prefix):]
command = json.loads(payload)
for key in ("value", "id", "ts", "by"):
    if key not in command:
        fail("command without %r: %s" % (key, payload))
client.publish(ASSET + "/" + tag, json.dumps(command["value"]), qos=1)
expect("puback", 5)
print("APPLIED %s %s %s %s" % (tag, json.dumps(command["value"]), command["id"], command["by"]), flush=True)
client.loop_stop()
client.disconnect()
