"""Issue 11, case 8: slow clients must not lock out the admin endpoint. A request must arrive
whole within 5 s of the accept however many bytes trickle in, and with 200 clients trickling one
byte every 3 s (reconnecting when closed) /ready and /live still answer, each within a second."""

import select
import socket
import threading
import time

from harness import Case, Fail, eventually

DEADLINE = 5.0
HEAD = b"GET /ready HTTP/1.1\r\nHost: x\r\nX-Slow: "


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.setblocking(False)
    return s


def _closed(s: socket.socket) -> bool:
    """True when the server closed or reset the connection (checked without blocking)."""
    r, _, _ = select.select([s], [], [], 0)
    if not r:
        return False
    try:
        return s.recv(4096) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _send_byte(s: socket.socket, n: int) -> bool:
    byte = HEAD[n:n + 1] or b"a"
    try:
        return s.send(byte) == 1
    except OSError:
        return False


def trickler_is_closed_at_the_deadline(g) -> float:
    """One client sends a byte every 0.5 s and never ends its head: closed at 5 s, not later."""
    s = _connect(g.admin)
    t0 = time.monotonic()
    n = 0
    try:
        while time.monotonic() - t0 < DEADLINE + 4:
            if not _send_byte(s, n) or _closed(s):
                break
            n += 1
            time.sleep(0.5)
        else:
            raise Fail(f"a client trickling a byte every 0.5 s was still open after {DEADLINE + 4:g} s")
    finally:
        s.close()
    took = time.monotonic() - t0
    if took < DEADLINE - 0.5 or took > DEADLINE + 2:
        raise Fail(f"the trickling client was closed after {took:.1f} s, not at the {DEADLINE:g} s deadline")
    return took


class Swarm:
    """`count` slow clients on one thread: one byte each every `interval` s, never a whole request;
    a client whose connection is gone connects again at its next turn."""

    def __init__(self, port: int, count: int, interval: float):
        self.port, self.count, self.interval = port, count, interval
        self.connects = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        clients: list = [None] * self.count
        sent = [0] * self.count
        end = time.monotonic() + 90  # bounded whatever happens to the case
        while not self.stop.is_set() and time.monotonic() < end:
            turn = time.monotonic()
            for i in range(self.count):
                if self.stop.is_set():
                    break
                c = clients[i]
                if c is not None and not _closed(c) and _send_byte(c, sent[i]):
                    sent[i] += 1
                    continue
                if c is not None:
                    c.close()
                try:
                    clients[i] = _connect(self.port)
                    self.connects += 1
                    sent[i] = 0
                    if _send_byte(clients[i], 0):
                        sent[i] = 1
                except OSError:
                    clients[i] = None
            self.stop.wait(max(0.0, self.interval - (time.monotonic() - turn)))
        for c in clients:
            if c is not None:
                c.close()


def admin_slow_clients(h) -> str:
    g = h.gateway("east")
    took = trickler_is_closed_at_the_deadline(g)

    swarm = Swarm(g.admin, 200, 3.0)
    swarm.thread.start()
    try:
        eventually(lambda: swarm.connects >= 200, 15, 0.1, "200 slow clients connected")
        # Probe for longer than two deadlines, while the swarm holds and retakes the slots.
        failures, worst, answered = [], 0.0, 0
        end = time.monotonic() + 2 * DEADLINE + 2
        i = 0
        while time.monotonic() < end:
            path = "/ready" if i % 2 == 0 else "/live"
            i += 1
            failure, took = g.probe(path, timeout=1.0)
            worst = max(worst, took)
            if failure:
                failures.append(failure)
            else:
                answered += 1
            time.sleep(0.3)
    finally:
        swarm.stop.set()
        swarm.thread.join(10)
    if failures:
        raise Fail(f"{len(failures)} of {answered + len(failures)} probes failed under 200 slow clients: {failures[:3]}")
    if swarm.connects <= 200:
        raise Fail("no slow client was ever closed: the swarm did not press on the slots")
    return (f"a trickling client closed after {took:.1f} s; {answered} probes 200 under 200 slow clients "
            f"({swarm.connects} connects), slowest {worst * 1000:.0f} ms")


CASES = [Case("admin-slow-clients", admin_slow_clients, backends=None, timeout=90)]
