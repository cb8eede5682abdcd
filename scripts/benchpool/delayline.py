"""The TUN delay line of scripts/bench-pool: a fixed-delay point-to-point link made in user space,
for kernels without sch_netem (no `tc ... netem`).

  python3 delayline.py --delay-ms D --dev mgd0 NETNS_A NETNS_B

Each namespace holds a persistent TUN device named --dev (made by `ip tuntap add`, addressed and up:
see tunlink.py). This process attaches to both (it enters each namespace with setns(2) to open
/dev/net/tun and TUNSETIFF there, IFF_TUN | IFF_NO_PI, then returns to its own), reads every IP
packet either side sends and writes it to the other side D ms after it was read: a heap of
(due time, sequence, destination fd, packet), a select() whose timeout is the next due time. Packets,
not streams: TCP runs end to end through it, so the link is a faithful fixed one-way delay of D ms
(plus the scheduling latency of this process, which it measures).

It prints "ready" on standard output once attached to both. It ends on SIGTERM/SIGINT, on end of
file on standard input (the parent keeps a pipe open: it closes when the parent dies) and when its
parent dies (PR_SET_PDEATHSIG, and the parent pid checked every second); then it writes one JSON
summary line to standard error: packets forwarded each way, dropped (queue over --limit), and the
lateness of the writes after their due time (p50/p99/max, ms). Only the standard library."""

import argparse
import ctypes
import fcntl
import heapq
import json
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
MTU = 1500
LIBC = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    """Moves this (single-threaded) process into the network namespace open on `fd`."""
    if LIBC.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


def attach(netns, dev):
    """A non-blocking fd of the TUN device `dev` inside the named namespace (/var/run/netns/NAME)."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(f"/var/run/netns/{netns}", os.O_RDONLY)
    try:
        setns(target)
        try:
            fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
            try:
                fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", dev.encode(), IFF_TUN | IFF_NO_PI))
            except OSError:
                os.close(fd)
                raise
        finally:
            setns(home)
    finally:
        os.close(target)
        os.close(home)
    return fd


def bound_to_parent():
    """SIGKILL when the parent dies (Linux), and the parent pid to check besides."""
    LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    return os.getppid()


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, -(-len(ordered) * p // 100) - 1))]


class Stop(Exception):
    pass


def stop(_signum, _frame):
    raise Stop


def run(fds, delay, limit, parent):
    """Forwards packets between the two fds with `delay` seconds added, until stopped; returns the summary."""
    a, b = fds
    other = {a: b, b: a}
    queue, seq = [], 0
    forwarded, dropped, lateness = {a: 0, b: 0}, 0, []
    stdin = sys.stdin.fileno()
    last_check = time.monotonic()
    try:
        while True:
            now = time.monotonic()
            while queue and queue[0][0] <= now:
                due, _, src, packet = heapq.heappop(queue)
                try:
                    os.write(other[src], packet)
                    forwarded[src] += 1
                except OSError:
                    dropped += 1
                if len(lateness) < 1_000_000:
                    lateness.append(now - due)
                now = time.monotonic()
            timeout = min(1.0, max(0.0, queue[0][0] - now)) if queue else 1.0
            readable, _, _ = select.select([a, b, stdin], [], [], timeout)
            arrived = time.monotonic()
            for fd in readable:
                if fd == stdin:
                    if not os.read(stdin, 4096):
                        raise Stop
                    continue
                while True:
                    try:
                        packet = os.read(fd, 65536)
                    except BlockingIOError:
                        break
                    if len(queue) >= limit:
                        dropped += 1
                        continue
                    seq += 1
                    heapq.heappush(queue, (arrived + delay, seq, fd, packet))
            if arrived - last_check >= 1.0:
                last_check = arrived
                if os.getppid() != parent:
                    raise Stop
    except Stop:
        pass
    late_ms = [v * 1000 for v in lateness]
    return {"forwarded": [forwarded[a], forwarded[b]], "dropped": dropped, "queued_at_end": len(queue),
            "late_ms": {"p50": percentile(late_ms, 50), "p99": percentile(late_ms, 99),
                        "max": max(late_ms) if late_ms else None}}


def main():
    p = argparse.ArgumentParser(description="A fixed-delay link between TUN devices in two namespaces.")
    p.add_argument("--delay-ms", type=float, required=True)
    p.add_argument("--dev", default="mgd0")
    p.add_argument("--limit", type=int, default=10000, help="packets queued at most (more are dropped)")
    p.add_argument("netns", nargs=2)
    args = p.parse_args()
    parent = bound_to_parent()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        # A link should not wait for the gateways' CPU: a real-time priority when allowed.
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
    except (OSError, AttributeError):
        pass
    try:
        fds = [attach(name, args.dev) for name in args.netns]
    except (OSError, Stop) as e:
        print(f"delayline: cannot attach to {args.dev} in {' and '.join(args.netns)}: {e}", file=sys.stderr)
        return 1
    print("ready", flush=True)
    try:
        summary = run(fds, args.delay_ms / 1000, args.limit, parent)
    except Stop:
        summary = {}
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    print(json.dumps(summary), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
