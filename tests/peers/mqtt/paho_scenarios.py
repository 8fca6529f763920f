#!/usr/bin/python3
"""MQTT scenarios with Eclipse paho (Debian python3-paho-mqtt 1.6) against the Shopfloor broker.

Usage: paho_scenarios.py PORT SCENARIO VERSION   (VERSION: 311 or 5)
Prints "OK" and exits 0 when the scenario behaved as the specification says, else prints
what went wrong and exits 1. Run by tests/connect/mqtt_clients_test.cc.
"""
import queue
import sys
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

PORT = int(sys.argv[1])
SCENARIO = sys.argv[2]
V5 = sys.argv[3] == "5"
TIMEOUT = 5.0


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


class Client:
    def __init__(self, client_id, clean=True, expiry=None, will=None, keepalive=60):
        self.messages = queue.Queue()
        self.events = queue.Queue()
        protocol = mqtt.MQTTv5 if V5 else mqtt.MQTTv311
        if V5:
            self.c = mqtt.Client(client_id=client_id, protocol=protocol)
        else:
            self.c = mqtt.Client(client_id=client_id, clean_session=clean, protocol=protocol)
        self.c.on_connect = self._on_connect
        self.c.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload.decode(), m.qos, m.retain))
        self.c.on_subscribe = lambda *a: self.events.put("suback")
        self.c.on_publish = lambda *a: self.events.put("published")
        if will:
            self.c.will_set(will[0], will[1], qos=1)
        kwargs = {"keepalive": keepalive}
        if V5:
            kwargs["clean_start"] = clean
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = expiry if expiry is not None else (0 if clean else 300)
            kwargs["properties"] = props
        self.c.connect("127.0.0.1", PORT, **kwargs)
        self.c.loop_start()
        self.session_present = self.wait_event("connack")[1]

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        self.events.put(("connack", flags.get("session present", 0)))

    def wait_event(self, name):
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            try:
                e = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            if e == name or (isinstance(e, tuple) and e[0] == name):
                return e
        fail("no %s" % name)

    def subscribe(self, topic, qos):
        self.c.subscribe(topic, qos)
        self.wait_event("suback")

    def publish(self, topic, payload, qos=0, retain=False):
        info = self.c.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(TIMEOUT)
        if not info.is_published():
            fail("publish %s not acknowledged" % topic)

    def expect(self, topic, payload, timeout=TIMEOUT):
        try:
            got = self.messages.get(timeout=timeout)
        except queue.Empty:
            fail("nothing on %s (wanted %r)" % (topic, payload))
        if got[0] != topic or got[1] != payload:
            fail("got %r, wanted %s %r" % (got, topic, payload))
        return got

    def expect_nothing(self, timeout=1.0):
        try:
            got = self.messages.get(timeout=timeout)
            fail("unexpected %r" % (got,))
        except queue.Empty:
            pass

    def disconnect(self):
        self.c.disconnect()
        self.c.loop_stop()

    def drop(self):
        """Ends the connection without DISCONNECT (network loss)."""
        self.c.loop_stop()
        self.c.socket().close()


def qos_matrix():
    sub = Client("paho-sub")
    for qos in (0, 1, 2):
        sub.subscribe("paho/q%d" % qos, qos)
    pub = Client("paho-pub")
    for qos in (0, 1, 2):
        pub.publish("paho/q%d" % qos, "m%d" % qos, qos=qos)
        got = sub.expect("paho/q%d" % qos, "m%d" % qos)
        if got[2] != qos:
            fail("delivered at QoS %d, wanted %d" % (got[2], qos))
    pub.disconnect()
    sub.disconnect()


def retained():
    pub = Client("paho-ret-pub")
    pub.publish("paho/ret", "kept", qos=1, retain=True)
    late = Client("paho-ret-late")
    late.subscribe("paho/#", 1)
    got = late.expect("paho/ret", "kept")
    if not got[3]:
        fail("a retained message on subscribe must have RETAIN set")
    pub.publish("paho/ret", "", qos=1, retain=True)  # clears it
    late.expect("paho/ret", "")
    later = Client("paho-ret-later")
    later.subscribe("paho/#", 1)
    later.expect_nothing()
    for c in (pub, late, later):
        c.disconnect()


def will():
    watcher = Client("paho-watcher")
    watcher.subscribe("paho/will/#", 1)
    clean = Client("paho-clean", will=("paho/will/clean", "clean-gone"))
    clean.disconnect()
    watcher.expect_nothing()
    abrupt = Client("paho-abrupt", will=("paho/will/abrupt", "abrupt-gone"))
    abrupt.drop()
    watcher.expect("paho/will/abrupt", "abrupt-gone")
    watcher.disconnect()


def persistent():
    sub = Client("paho-persist", clean=False)
    sub.subscribe("paho/persist", 1)
    sub.disconnect()
    pub = Client("paho-persist-pub")
    pub.publish("paho/persist", "while-offline", qos=1)
    back = Client("paho-persist", clean=False)
    if not back.session_present:
        fail("session_present not set on resume")
    back.expect("paho/persist", "while-offline")
    back.disconnect()
    pub.publish("paho/persist", "dropped-by-clean-start", qos=1)
    fresh = Client("paho-persist", clean=True)
    if fresh.session_present:
        fail("session_present set with clean start")
    fresh.expect_nothing()
    fresh.disconnect()
    pub.disconnect()


def keepalive():
    watcher = Client("paho-ka-watcher")
    watcher.subscribe("paho/ka", 1)
    silent = Client("paho-ka", will=("paho/ka", "timed-out"), keepalive=1)
    silent.c.loop_stop()  # no more PINGREQs; the broker gives up after 1.5 s
    started = time.time()
    watcher.expect("paho/ka", "timed-out", timeout=5.0)
    if time.time() - started < 1.0:
        fail("closed before 1.5 times the keep alive")
    watcher.disconnect()


{"qos": qos_matrix, "retained": retained, "will": will, "persistent": persistent, "keepalive": keepalive}[SCENARIO]()
print("OK")
