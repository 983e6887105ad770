"""Delay (and jitter) on one link of the simulated internet, in user space.

This kernel has no netem qdisc, so a home's uplink is made of two TAP devices
instead of a veth pair: one in the home's namespace (the router's `wan0`, or
an open host's `eth0`) and one in the public namespace (the bridge port), and
this process copies every Ethernet frame from one to the other after the
configured one-way delay, in both directions. Loss is not done here: netsim
drops with an nftables rule, which costs no CPU.

    delay-forwarder.py <namespace-a> <device-a> <namespace-b> <device-b>

Standard library only (CI's base image has /usr/bin/python3 3.11, which has
no os.setns: libc's is called through ctypes). It prints `ready` once both
devices exist, then reads one JSON object per line on stdin,
`{"delay_ms": 25, "jitter_ms": 2}`, and answers `ok` when frames read from
then on get the new delay. It exits when stdin closes or on SIGTERM.

Jitter never reorders: a frame leaves at its own delay plus a random extra of
up to `jitter_ms`, but not before the frame ahead of it (netem reorders, which
a real path rarely does and which SCTP and TCP read as loss).
"""

import collections
import ctypes
import fcntl
import json
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
# Frames waiting in one direction beyond this are dropped, like a full router
# buffer: 8192 full frames is 12 MB, about 2 s at 50 Mbit/s.
QUEUE_LIMIT = 8192

libc = ctypes.CDLL(None, use_errno=True)


def enter(namespace):
    fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {namespace}: {os.strerror(err)}")
    finally:
        os.close(fd)


def open_tap(namespace, name):
    enter(namespace)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def main():
    ns_a, dev_a, ns_b, dev_b = sys.argv[1:5]
    fd_a = open_tap(ns_a, dev_a)
    fd_b = open_tap(ns_b, dev_b)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    delay = 0.0
    jitter = 0.0
    # Per direction: frames with the time each may leave, in order.
    queues = {fd_a: collections.deque(), fd_b: collections.deque()}
    last_due = {fd_a: 0.0, fd_b: 0.0}
    other = {fd_a: fd_b, fd_b: fd_a}
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)
    pending = b""
    print("ready", flush=True)

    while True:
        now = time.monotonic()
        timeout = None
        for queue in queues.values():
            if queue:
                wait = queue[0][0] - now
                timeout = wait if timeout is None else min(timeout, wait)
        readable, _, _ = select.select([fd_a, fd_b, stdin], [], [], None if timeout is None else max(0.0, timeout))
        now = time.monotonic()
        for fd in readable:
            if fd == stdin:
                chunk = os.read(stdin, 4096)
                if not chunk:
                    return
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    if line.strip():
                        command = json.loads(line)
                        delay = max(0.0, float(command.get("delay_ms", 0))) / 1000
                        jitter = max(0.0, float(command.get("jitter_ms", 0))) / 1000
                        print("ok", flush=True)
                continue
            queue = queues[fd]
            # Drain what the kernel holds now: one select per frame would cost
            # more than the copy.
            while True:
                try:
                    frame = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if len(queue) >= QUEUE_LIMIT:
                    continue
                due = now + delay + (random.random() * jitter if jitter else 0.0)
                due = max(due, last_due[fd])
                last_due[fd] = due
                queue.append((due, frame))
        for fd, queue in queues.items():
            out = other[fd]
            while queue and queue[0][0] <= now:
                frame = queue.popleft()[1]
                try:
                    os.write(out, frame)
                except BlockingIOError:
                    pass  # The device's queue is full: the frame is lost, as on a real link.


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
