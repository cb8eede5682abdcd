"""Issue 11, "10–13": descriptor exhaustion of the gateway must not hang the admin endpoint. A
gateway under RLIMIT_NOFILE 256 with 100 route listeners (opened after the data plane sized its
connection limit, as mirrored routes are) gets 300 clients whose upstream never answers: the data
plane stops at its share (the last 64 descriptors stay for control traffic), /live and /ready
answer within a second meanwhile, and accepting resumes once the clients are gone."""

import os
import socket
import stat
import time

from harness import Case, Fail, eventually

NOFILE = 256
ROUTES = 100


def descriptor_reserve(h) -> str:
    # The routes' gateway: connects complete in its backlog, nothing is ever answered, so each
    # client holds its socket and an upstream socket until the handshake times out.
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(4096)
    first, _ = h.port_block(ROUTES)
    route_ports = [first + i for i in range(ROUTES)]
    routes = "routes:\n" + "".join(
        f"  - {{name: r{i}, namespace: default, port: 7000, cluster: west, "
        f"gateways: [\"127.0.0.1:{hole.getsockname()[1]}\"], listen: \"127.0.0.1:{p}\"}}\n"
        for i, p in enumerate(route_ports))
    g = h.gateway("east", extra=routes, start=False)

    # Start it under prlimit (the harness starts `h.bin`; a wrapper execs prlimit, same pid).
    wrapper = h.work / "meshgate-nofile"
    wrapper.write_text(f"#!/bin/sh\nexec prlimit --nofile={NOFILE}:{NOFILE} -- {h.bin} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    real, h.bin = h.bin, wrapper
    try:
        g.start()
    finally:
        h.bin = real
    limits = open(f"/proc/{g.pid}/limits").read()
    if not any(l.startswith("Max open files") and f" {NOFILE} " in l for l in limits.splitlines()):
        raise Fail(f"the gateway does not run with RLIMIT_NOFILE {NOFILE}")

    clients = []
    try:
        for _ in range(3):
            for p in route_ports:
                s = socket.socket()
                s.setblocking(False)
                try:
                    s.connect(("127.0.0.1", p))
                except BlockingIOError:
                    pass
                clients.append(s)
        # Read from /proc, not the admin endpoint: the share is 192 descriptors (256 − 64).
        eventually(lambda: len(os.listdir(f"/proc/{g.pid}/fd")) >= NOFILE - 64, 15, 0.2,
                   "the gateway holding its data plane's share of descriptors")
        time.sleep(0.5)
        fds = len(os.listdir(f"/proc/{g.pid}/fd"))

        failures, worst = [], 0.0
        for i in range(8):
            path = "/live" if i % 2 == 0 else "/ready"
            failure, took = g.probe(path, timeout=1.0)
            worst = max(worst, took)
            if failure:
                failures.append(failure)
            time.sleep(0.2)
        if failures:
            raise Fail(f"admin probes failed while the data plane was at its share: {failures}")
        refused = g.counter("refused_descriptor_reserve")
        if refused == 0 and g.counter("accept_pauses_emfile") == 0:
            raise Fail(f"{fds} descriptors open, yet neither refused_descriptor_reserve nor accept_pauses_emfile counted")
        if g.log_count(r"the data plane holds its share of descriptors") == 0:
            raise Fail("reaching the descriptor share was not logged")
    finally:
        for s in clients:
            s.close()
        # Its backlog reset, the upstream handshakes fail at once instead of at the timeout.
        hole.close()

    # Clients left in the route listeners' backlogs are accepted and reset as they come; once
    # nothing is open and the count has settled, a new client must be taken at once.
    state = {"last": -1}

    def settled():
        c = g.status()["counters"]
        now, last = c.get("accepted", -1), state["last"]
        state["last"] = now
        return c.get("active") == 0 and now == last

    eventually(settled, 40, 0.5, "the data plane draining after the clients left")
    before = state["last"]
    # The route's gateway is gone now, so the probe is accepted and then reset: only the count tells.
    probe = socket.socket()
    probe.setblocking(False)
    try:
        try:
            probe.connect(("127.0.0.1", route_ports[0]))
        except BlockingIOError:
            pass
        eventually(lambda: g.counter("accepted") > before, 3, 0.1, "a new client accepted after the clients left")
    finally:
        probe.close()
    return (f"at its share with {fds} of {NOFILE} descriptors open: {refused} clients reset, /live and /ready "
            f"answered (slowest {worst * 1000:.0f} ms); accepting resumed after")


CASES = [Case("descriptor-reserve", descriptor_reserve, backends=("uring", "epoll"), timeout=120)]
