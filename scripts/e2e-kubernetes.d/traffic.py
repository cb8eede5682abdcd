"""Redis traffic for scripts/e2e-kubernetes, from inside a network namespace: one SET/GET exchange
per connection (RESP over a plain socket), the value's SHA-256 compared, and a background loop
that counts successes and failures."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from typing import Optional

from netns import netns


def _read_reply(f) -> bytes:
    line = f.readline()
    if not line:
        raise EOFError("connection closed")
    kind, rest = line[:1], line[1:].rstrip(b"\r\n")
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RuntimeError(f"redis error {rest.decode(errors='replace')}")
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return b""
        data = f.read(n + 2)
        if len(data) != n + 2:
            raise EOFError("short bulk reply")
        return data[:-2]
    if kind == b":":
        return rest
    raise RuntimeError(f"unexpected reply {line[:40]!r}")


def _command(*parts: bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(p), p))
    return b"".join(out)


def set_get(ns: str, host: str, port: int, key: str, size: int = 4096, timeout: float = 5.0) -> str:
    """One connection: SET key <random value>, GET key; raises unless the SHA-256 matches.
    Returns the server's `run_id`-free answer summary."""
    value = os.urandom(size)
    with netns(ns):
        s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.settimeout(timeout)
        f = s.makefile("rb")
        s.sendall(_command(b"SET", key.encode(), value) + _command(b"GET", key.encode()))
        if _read_reply(f) != b"OK":
            raise RuntimeError("SET did not answer OK")
        got = _read_reply(f)
        if hashlib.sha256(got).digest() != hashlib.sha256(value).digest():
            raise RuntimeError(f"GET returned {len(got)} bytes, SHA-256 differs from the {size} bytes SET")
        return hashlib.sha256(value).hexdigest()[:12]
    finally:
        s.close()


def info_connections(ns: str, host: str, port: int) -> int:
    """total_connections_received of the redis at host:port (direct, not through a gateway)."""
    with netns(ns):
        s = socket.create_connection((host, port), timeout=3)
    try:
        f = s.makefile("rb")
        s.sendall(_command(b"INFO", b"stats"))
        text = _read_reply(f).decode()
        for line in text.splitlines():
            if line.startswith("total_connections_received:"):
                return int(line.split(":")[1])
        return -1
    finally:
        s.close()


class Loop:
    """SET/GET exchanges in a thread, one after another (`interval` apart) until stopped."""

    def __init__(self, ns: str, host: str, port: int, interval: float = 0.05, size: int = 4096):
        self.ns, self.host, self.port, self.interval, self.size = ns, host, port, interval, size
        self.ok = 0
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._t: Optional[threading.Thread] = None

    def start(self) -> "Loop":
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            try:
                set_get(self.ns, self.host, self.port, f"loop:{i % 50}", self.size)
                self.ok += 1
            except Exception as e:  # noqa: BLE001 - counted and reported
                self.failed.append(f"{time.strftime('%H:%M:%S')} {type(e).__name__}: {e}")
            self._stop.wait(self.interval)

    def stop(self) -> "Loop":
        self._stop.set()
        if self._t:
            self._t.join(15)
        return self

    def summary(self) -> str:
        return f"{self.ok} ok, {len(self.failed)} failed" + (f" (first: {self.failed[0]})" if self.failed else "")
