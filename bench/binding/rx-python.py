#!/usr/bin/env python3
"""Receiver on python-can's socketcan interface (Debian's python3-can; optional).

    python3 rx-python.py IFACE COUNT [drain]

The same protocol as the Node receivers (bench/binding/tally.js): READY, the figures, DONE;
with `drain` it reads only after a GO line on stdin; it exits when stdin closes.
A delivery is one bus.recv() that returned a frame.
"""
import select
import sys
import time

import can


def main():
    if len(sys.argv) < 3:
        sys.stderr.write("usage: rx-python.py IFACE COUNT [drain]\n")
        return 2
    iface, count = sys.argv[1], int(sys.argv[2])
    drain = "drain" in sys.argv[3:]
    bus = can.Bus(interface="socketcan", channel=iface)
    print("READY", flush=True)
    if drain:
        while "GO" not in sys.stdin.readline():
            pass
    seen = bytearray(count)
    received = duplicates = foreign = deliveries = 0
    last = 0.0
    quiet_s = 1.5
    while received < count:
        msg = bus.recv(timeout=0.1)
        if msg is None:
            if last and time.monotonic() - last >= quiet_s:
                break
            continue
        deliveries += 1
        last = time.monotonic()
        seq = int.from_bytes(msg.data[0:4], "little")
        if seq >= count:
            foreign += 1
        elif seen[seq]:
            duplicates += 1
        else:
            seen[seq] = 1
            received += 1
    print(f"received={received}\nduplicates={duplicates}\nforeign={foreign}\ndeliveries={deliveries}\nDONE", flush=True)
    select.select([sys.stdin], [], [])
    sys.stdin.read()
    bus.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
