#!/usr/bin/python3
"""Holds N idle MQTT 3.1.1 connections to the Shopfloor broker, plain or TLS, for a memory test.

Usage: idle_clients.py PORT plain|tls N [CAFILE]
Each connection sends CONNECT (keep-alive 600 s) and waits for a successful CONNACK; then the
script prints "ready PID" and sleeps until it is killed (or 120 s pass). Run by
tests/connect/mqtt_tls_test.cc.
"""
import os
import resource
import socket
import ssl
import struct
import sys
import time

port, mode, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
ctx = ssl.create_default_context(cafile=sys.argv[4]) if mode == "tls" else None


def field(b):
    return struct.pack(">H", len(b)) + b


conns = []
for i in range(n):
    raw = socket.create_connection(("localhost" if ctx else "127.0.0.1", port))
    c = ctx.wrap_socket(raw, server_hostname="localhost") if ctx else raw
    body = field(b"MQTT") + bytes([4, 0x02]) + struct.pack(">H", 600) + field(("idle-%s-%d" % (mode, i)).encode())
    c.sendall(bytes([0x10, len(body)]) + body)
    ack = c.recv(4)
    if len(ack) < 4 or ack[3] != 0:
        print("FAIL: CONNACK %r" % (ack,), flush=True)
        sys.exit(1)
    conns.append(c)
print("ready %d" % os.getpid(), flush=True)
time.sleep(120)
