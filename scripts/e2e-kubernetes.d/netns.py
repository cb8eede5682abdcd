"""Network namespaces for scripts/e2e-kubernetes: create and delete them (`ip netns`), and run a
piece of this process inside one: `with netns("mgk-east"): ...` moves the calling thread (only
that thread) into the namespace with setns(2) and back at the end. Sockets opened inside stay
in that namespace; processes started inside (subprocess) start in it."""

from __future__ import annotations

import ctypes
import os
import subprocess
from contextlib import contextmanager
from typing import Iterator, Optional

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextmanager
def netns(name: Optional[str]) -> Iterator[None]:
    """The calling thread in network namespace `name` (None: stay where it is)."""
    if name is None:
        yield
        return
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)
        os.close(target)


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if check and out.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {out.stderr.strip()}")
    return out


def exists(name: str) -> bool:
    return os.path.exists(f"/var/run/netns/{name}")


def create(name: str) -> None:
    """A fresh namespace `name` with lo up (a stale one of the same name is removed first)."""
    if exists(name):
        delete(name)
    ip("netns", "add", name)
    ip("-n", name, "link", "set", "lo", "up")


def pids(name: str) -> list[int]:
    out = ip("netns", "pids", name, check=False)
    return [int(p) for p in out.stdout.split() if p.isdigit()]


def delete(name: str) -> None:
    """Kills whatever still runs in `name`, then deletes it."""
    for p in pids(name):
        try:
            os.kill(p, 9)
        except OSError:
            pass
    ip("netns", "del", name, check=False)


def veth(ns_a: str, dev_a: str, addrs_a: list[str], ns_b: str, dev_b: str, addrs_b: list[str]) -> None:
    """A veth pair between two namespaces, addresses in CIDR form (the first of each side's
    list is its primary)."""
    ip("link", "add", dev_a, "netns", ns_a, "type", "veth", "peer", "name", dev_b, "netns", ns_b)
    for ns, dev, addrs in ((ns_a, dev_a, addrs_a), (ns_b, dev_b, addrs_b)):
        for a in addrs:
            ip("-n", ns, "addr", "add", a, "dev", dev)
        ip("-n", ns, "link", "set", dev, "up")


def add_address(ns: str, dev: str, cidr: str) -> None:
    ip("-n", ns, "addr", "add", cidr, "dev", dev)
