"""Case 7: discover streams. Only gateway identities may open them (by default), each identity
at most `inbound.discover.perIdentity` (4), asking as its own cluster only; a refused stream is
reset at once on both io backends (io_uring once kept the refused socket open with no
descriptor), and junk from the peer ends a stream at once."""

import time

from harness import Case, Fail, eventually
from tlspeer import discover_header, ending, established, expect_snapshot_begin, open_tls


def _refused_at_once(west, identity, cluster: str, what: str, counter: str) -> str:
    """Opens a discover stream as `identity` asking for `cluster`'s routes; it must be reset
    within a second, leave no socket open on the gateway's side, and be counted under `counter`."""
    s = open_tls(west.inbound, identity)
    local = s.getsockname()[1]
    try:
        s.sendall(discover_header(cluster))
        started = time.monotonic()
        end = ending(s, 3)
        took = time.monotonic() - started
        if end != "reset" or took > 1.0:
            raise Fail(f"{what}: the stream ended '{end}' after {took:.2f}s (want a reset within 1s)")
    finally:
        s.close()
    # Nothing of it stays open on the gateway's side.
    eventually(lambda: not established(west.inbound, local), 1.0, what=f"{what}: the gateway's socket is gone")
    eventually(lambda: west.counter(counter) >= 1, 5, what=f"counted {counter}")
    return f"{took * 1000:.0f} ms"


def workload_refused(h) -> str:
    west = h.gateway("west")
    workload = h.pki.workload("west", "shop", "web")
    took = _refused_at_once(west, workload, "west", "a workload identity", "gateway_refused_discover_not_gateway")
    return f"workload's discover stream reset in {took}, counted"


def cluster_mismatch(h) -> str:
    west = h.gateway("west")
    east_identity = h.pki.gateway("east")
    took = _refused_at_once(west, east_identity, "north", "meshgate-east/gateway asking as north",
                            "gateway_refused_discover_cluster_mismatch")
    return f"east asking as north reset in {took}"


def per_identity_cap(h) -> str:
    west = h.gateway("west")
    north = h.pki.gateway("north")
    held = []
    try:
        for _ in range(4):
            s = open_tls(west.inbound, north)
            s.sendall(discover_header("north"))
            expect_snapshot_begin(s)
            held.append(s)
        _refused_at_once(west, north, "north", "north's fifth stream", "gateway_refused_discover_per_identity_limit")
        # Another identity is not starved: east's own mirror gets its stream and its routes.
        east = h.gateway("east")
        east.link(west)
        eventually(lambda: east.link_status("west").get("synced"), 15, what="east's mirror of west synced")
    finally:
        for s in held:
            s.close()
    return "4 streams held by north, the 5th reset, east's mirror synced"


def junk_closes(h) -> str:
    west = h.gateway("west")
    east = h.pki.gateway("east")
    s = open_tls(west.inbound, east)
    try:
        s.sendall(discover_header("east"))
        expect_snapshot_begin(s)
        s.sendall(b"\x00\x01\x05 this is not what a mirror sends")
        started = time.monotonic()
        end = ending(s, 4)
        took = time.monotonic() - started
    finally:
        s.close()
    if end in ("timeout",) or took > 1.0:
        raise Fail(f"junk on the stream: ended '{end}' after {took:.2f}s (keepalives are 5s apart; want < 1s)")
    return f"ended ({end}) {took * 1000:.0f} ms after the junk"


CASES = [
    Case("discover-workload-refused-reset", workload_refused, backends=("uring", "epoll"), timeout=60),
    Case("discover-cluster-field-checked", cluster_mismatch, backends=("uring", "epoll"), timeout=60),
    Case("discover-per-identity-cap", per_identity_cap, backends=("uring", "epoll"), timeout=90),
    Case("discover-junk-closes-at-once", junk_closes, backends=("uring", "epoll"), timeout=60),
]
