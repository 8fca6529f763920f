#!/usr/bin/python3
"""A Modbus TCP test server on pymodbus 3.0.0rc1 (Debian python3-pymodbus), for the Modbus
collector's tests and benchmark. Run with /usr/bin/python3.

    server.py PORT [--size N] [--unit U]

Serves one unit (default 1; other unit ids get no answer) with N (default 2000) coils,
discrete inputs, input registers and holding registers from address 0, all zero, in zero
mode (protocol address 0 is the first entry). Reads past N are answered with the exception
IllegalAddress. PORT 0 picks a free port. Prints "ready PORT" once it listens.

Control: one command per line on stdin, each answered with one line on stdout:
    set TABLE ADDR V...      set values from ADDR (TABLE co, di, ir, hr)  -> "ok"
    get TABLE ADDR COUNT     -> "values V..."
    delay SECONDS [ADDR [FC]]  delay every reply (or only replies to requests starting at
                             ADDR, of function code FC) by SECONDS; 0 ends the delay. A delayed
                             request is executed when its reply is due, even when the client
                             has gone by then (a write is applied late)   -> "ok"
    drop                     close every client connection                -> "ok N" (closed)
    stats                    -> "stats requests=N fc1=N fc2=N fc3=N fc4=N fc5=N fc6=N fc15=N fc16=N
                                connections=N"
    quit                     exit
End of stdin also exits, so the server never outlives its test.
"""
import argparse
import asyncio
import logging
import sys
import threading

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server.async_io import ModbusConnectedRequestHandler, ModbusTcpServer

TABLE_FC = {"co": 1, "di": 2, "hr": 3, "ir": 4}


class State:
    def __init__(self):
        self.delay = 0.0
        self.delay_address = None
        self.delay_fc = None
        self.counts = {}
        self.connections = 0
        self.handlers = set()


STATE = State()


class Handler(ModbusConnectedRequestHandler):
    """Counts requests by function code and delays replies when told to."""

    def connection_made(self, transport):
        STATE.connections += 1
        STATE.handlers.add(self)
        super().connection_made(transport)

    def connection_lost(self, call_exc):
        STATE.handlers.discard(self)
        super().connection_lost(call_exc)

    def execute(self, request, *addr):
        fc = request.function_code
        STATE.counts[fc] = STATE.counts.get(fc, 0) + 1
        delay = STATE.delay
        if STATE.delay_address is not None and getattr(request, "address", None) != STATE.delay_address:
            delay = 0
        if STATE.delay_fc is not None and fc != STATE.delay_fc:
            delay = 0
        if delay > 0:
            # The request is executed (and its values taken) only when the reply is due.
            asyncio.get_event_loop().call_later(delay, self._late, request, addr)
        else:
            super().execute(request, *addr)

    def _late(self, request, addr):
        if self.running and not self.transport.is_closing():
            super().execute(request, *addr)
        else:
            request.execute(self.server.context[request.unit_id])


def command(line, slave, loop):
    words = line.split()
    if not words:
        return ""
    op = words[0]
    if op == "set":
        fc = TABLE_FC[words[1]]
        values = [int(float(v)) for v in words[3:]]
        slave.setValues(fc, int(words[2]), values)
        return "ok"
    if op == "get":
        fc = TABLE_FC[words[1]]
        values = slave.getValues(fc, int(words[2]), int(words[3]))
        return "values " + " ".join(str(int(v)) for v in values)
    if op == "delay":
        STATE.delay = float(words[1])
        STATE.delay_address = int(words[2]) if len(words) > 2 else None
        STATE.delay_fc = int(words[3]) if len(words) > 3 else None
        return "ok"
    if op == "drop":
        handlers = list(STATE.handlers)
        for handler in handlers:
            handler.transport.abort()
        return f"ok {len(handlers)}"
    if op == "stats":
        total = sum(STATE.counts.values())
        per_fc = " ".join(f"fc{fc}={STATE.counts.get(fc, 0)}" for fc in (1, 2, 3, 4, 5, 6, 15, 16))
        return f"stats requests={total} {per_fc} connections={STATE.connections}"
    if op == "quit":
        loop.stop()
        return "bye"
    return "error unknown command " + op


def stdin_reader(slave, loop):
    for line in sys.stdin:
        done = threading.Event()
        answer = []

        def run(text=line):
            try:
                answer.append(command(text, slave, loop))
            except Exception as exc:  # a bad command must not kill the server
                answer.append(f"error {exc}")
            done.set()

        loop.call_soon_threadsafe(run)
        done.wait()
        if answer[0]:
            print(answer[0], flush=True)
        if answer[0] == "bye":
            return
    loop.call_soon_threadsafe(loop.stop)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--unit", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    block = lambda: ModbusSequentialDataBlock(0, [0] * args.size)  # noqa: E731
    slave = ModbusSlaveContext(di=block(), co=block(), hr=block(), ir=block(), zero_mode=True)
    context = ModbusServerContext(slaves={args.unit: slave}, single=False)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = ModbusTcpServer(context, address=("127.0.0.1", args.port), handler=Handler,
                             allow_reuse_address=True, ignore_missing_slaves=True, loop=loop)
    loop.create_task(server.serve_forever())
    loop.run_until_complete(server.serving)
    port = server.server.sockets[0].getsockname()[1]
    print(f"ready {port}", flush=True)
    threading.Thread(target=stdin_reader, args=(slave, loop), daemon=True).start()
    loop.run_forever()


if __name__ == "__main__":
    main()
