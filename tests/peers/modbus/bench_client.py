#!/usr/bin/python3
"""pymodbus's own synchronous client (ModbusTcpClient) reading what modbus_bench reads: FC 3
reads of 125 holding registers cycling through registers 0..N-1, for S seconds. Prints one
JSON line like bench/modbus/modbus_bench.cc. Run with /usr/bin/python3.

    bench_client.py --endpoint=127.0.0.1:PORT --registers=1000 --seconds=5
"""
import argparse
import json
import logging
import sys
import time

from pymodbus.client import ModbusTcpClient


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--registers", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    host, port = args.endpoint.rsplit(":", 1)
    client = ModbusTcpClient(host, port=int(port), timeout=2)
    if not client.connect():
        sys.exit("bench_client.py: cannot connect to " + args.endpoint)
    polls = requests = registers = 0
    start = time.monotonic()
    while time.monotonic() - start < args.seconds:
        for at in range(0, args.registers, 125):
            n = min(125, args.registers - at)
            reply = client.read_holding_registers(at, n, slave=1)
            if reply.isError() or len(reply.registers) != n:
                sys.exit(f"bench_client.py: read {at}+{n} failed: {reply}")
            requests += 1
            registers += n
        polls += 1
    elapsed = time.monotonic() - start
    client.close()
    print(json.dumps({"client": "pymodbus", "registers": args.registers, "seconds": round(elapsed, 3),
                      "polls": polls, "requests": requests, "registers_read": registers,
                      "polls_per_s": round(polls / elapsed, 1), "requests_per_s": round(requests / elapsed, 1),
                      "registers_per_s": round(registers / elapsed, 1)}))


if __name__ == "__main__":
    main()
