#!/usr/bin/python3
"""Eclipse paho (Debian python3-paho-mqtt 1.6) over TLS against the Shopfloor broker.

Usage: paho_tls.py PORT CAFILE VERSION   (VERSION: 311 or 5)
Connects to localhost:PORT verifying the server certificate (and its host name) against
CAFILE, subscribes, publishes at QoS 1 and receives its own message. Prints "OK <TLS version>"
and exits 0 on success, else prints what went wrong and exits 1. Run by
tests/connect/mqtt_tls_test.cc.
"""
import queue
import ssl
import sys

import paho.mqtt.client as mqtt

PORT = int(sys.argv[1])
CAFILE = sys.argv[2]
V5 = sys.argv[3] == "5"
TIMEOUT = 5.0


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


events = queue.Queue()
client_id = "paho-tls-" + sys.argv[3]
if V5:
    c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
else:
    c = mqtt.Client(client_id=client_id, clean_session=True, protocol=mqtt.MQTTv311)
c.tls_set(ca_certs=CAFILE, cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
c.on_connect = lambda *a: events.put(("connack", a[3] if not V5 else a[3]))
c.on_subscribe = lambda *a: events.put(("suback", None))
c.on_publish = lambda *a: events.put(("puback", None))
c.on_message = lambda cl, u, m: events.put(("message", (m.topic, m.payload.decode(), m.qos)))
try:
    c.connect("localhost", PORT, keepalive=30)
except (ssl.SSLError, OSError) as e:
    fail("TLS connect: %r" % (e,))
c.loop_start()


def expect(kind):
    try:
        got, value = events.get(timeout=TIMEOUT)
    except queue.Empty:
        fail("no %s within %.0f s" % (kind, TIMEOUT))
    if got != kind:
        fail("expected %s, got %s %r" % (kind, got, value))
    return value


rc = expect("connack")
if rc != 0:
    fail("CONNACK %r" % (rc,))
topic = "tls/paho/" + sys.argv[3]
c.subscribe(topic, qos=1)
expect("suback")
c.publish(topic, "over-tls", qos=1)
first = events.get(timeout=TIMEOUT)
second = events.get(timeout=TIMEOUT)
kinds = sorted([first[0], second[0]])
if kinds != ["message", "puback"]:
    fail("expected a PUBACK and the message, got %r %r" % (first, second))
message = first[1] if first[0] == "message" else second[1]
if message != (topic, "over-tls", 1):
    fail("message %r" % (message,))
version = c.socket().version()
c.disconnect()
c.loop_stop()
print("OK " + version)
