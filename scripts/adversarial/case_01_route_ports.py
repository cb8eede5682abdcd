"""Issue 11, case 1: route ports never move. A route's local port is a function of the route:
two replicas of one gateway config, each in its own network namespace, with the same links get
the same route->port table (and each port is the one the route key hashes to, whatever order
the links arrived in); a gateway restarted 5 times with links arriving in turn in either order
keeps its table (stateDir); a withdrawn route comes back on its port, and meanwhile a stale
client of that port is refused, never carried to the route added after it."""

import signal
import time

from harness import Fail, Case, eventually, expect_answer, service

RANGE = (4200, 4999)


def port_hash(key: str) -> int:
    """The gateway's route-key hash (docs/gateway.md, Route ports): FNV-1a 64 over the UTF-8
    bytes, finished with the SplitMix64 mixer."""
    m = (1 << 64) - 1
    h = 0xCBF29CE484222325
    for b in key.encode():
        h = ((h ^ b) * 0x100000001B3) & m
    h ^= h >> 30
    h = (h * 0xBF58476D1CE4E5B9) & m
    h ^= h >> 27
    h = (h * 0x94D049BB133111EB) & m
    return h ^ (h >> 31)


def preferred(key: str, lo: int = RANGE[0], hi: int = RANGE[1]) -> int:
    return lo + port_hash(key) % (hi - lo + 1)


def distinct_names(prefix: str, cluster: str, port: int, count: int, taken: set) -> list:
    """Service names whose mirrored keys prefer pairwise different ports (and none in `taken`),
    so that the expected table is exactly the preferred ports."""
    names, i = [], 0
    while len(names) < count:
        name = f"{prefix}{i}"
        p = preferred(f"default/{name}-{cluster}:{port}")
        if p not in taken:
            taken.add(p)
            names.append(name)
        i += 1
    return names


def replicas_in_two_namespaces(h) -> str:
    # west and north each in a namespace of their own, reachable from both replicas' namespaces
    # at one fixed address (10.77.9.9 / 10.77.8.8 on their lo), so both replicas get identical
    # link bundles.
    ns = {n: h.netns(n) for n in ("west", "north", "ra", "rb")}
    peers = {"west": ("10.77.9.9", 1), "north": ("10.77.8.8", 3)}
    for peer, (vip, subnet) in peers.items():
        h.run(["ip", "-n", ns[peer], "addr", "add", f"{vip}/32", "dev", "lo"])
        for k, replica in enumerate(("ra", "rb")):
            net = f"10.{77 + k}.{subnet}"
            h.veth(ns[peer], f"{net}.1/24", ns[replica], f"{net}.2/24")
            h.run(["ip", "-n", ns[replica], "route", "add", f"{vip}/32", "via", f"{net}.1"])
    taken: set = set()
    west_names = distinct_names("app", "west", 8080, 8, taken)
    north_names = distinct_names("db", "north", 5432, 5, taken)
    west = h.gateway("west", [service(n, [(8080, 9)], ["127.0.0.1:9"]) for n in west_names],
                     host="0.0.0.0", ports=RANGE, netns=ns["west"], backend=None)
    north = h.gateway("north", [service(n, [(5432, 9)], ["127.0.0.1:9"]) for n in north_names],
                      host="0.0.0.0", ports=RANGE, netns=ns["north"], backend=None)
    bundles = {"west": west.bundle("10.77.9.9:4143"), "north": north.bundle("10.77.8.8:4143")}
    identity = h.pki.gateway("east")
    ra = h.gateway("east", name="east-a", identity=identity, host="0.0.0.0", ports=RANGE, netns=ns["ra"], backend=None)
    rb = h.gateway("east", name="east-b", identity=identity, host="0.0.0.0", ports=RANGE, netns=ns["rb"], backend=None)
    keys = {"west": [f"default/{n}-west:8080" for n in west_names],
            "north": [f"default/{n}-north:5432" for n in north_names]}
    # Replica a links west first, replica b north first: the links arrive in opposite orders.
    for replica, order in ((ra, ("west", "north")), (rb, ("north", "west"))):
        for cluster in order:
            replica.link_file(bundles[cluster])
            for key in keys[cluster]:
                replica.wait_route(key, timeout=20)
    ta, tb = ra.routes(), rb.routes()
    expected = {k: preferred(k) for k in keys["west"] + keys["north"]}
    if ta != tb:
        diff = {k: (ta.get(k), tb.get(k)) for k in set(ta) | set(tb) if ta.get(k) != tb.get(k)}
        raise Fail(f"the two replicas' tables differ: {diff}")
    if ta != expected:
        diff = {k: (ta.get(k), expected.get(k)) for k in set(ta) | set(expected) if ta.get(k) != expected.get(k)}
        raise Fail(f"ports are not the routes' hashed ports (got, expected): {diff}")
    return f"{len(ta)} routes, identical tables in two namespaces, every port the key's hashed port"


def table(g, keys, timeout=20.0) -> dict:
    return eventually(lambda: (lambda t: t if all(k in t for k in keys) else None)(g.routes()), timeout, 0.1,
                      f"gateway {g.cluster}: routes {len(keys)} published")


def restarts_and_withdrawal(h) -> str:
    west_names = [f"svc{i:02d}" for i in range(10)]
    north_names = [f"db{i}" for i in range(6)]
    backend = h.tagged_server("west")

    def svc(n):
        return service(n, [(7000, backend)], [f"127.0.0.1:{backend}"])
    west = h.gateway("west", [svc(n) for n in west_names])
    north = h.gateway("north", [service(n, [(7000, 9)], ["127.0.0.1:9"]) for n in north_names])
    lo, hi = h.port_block(16)  # exactly one port per route: every collision shows
    east = h.gateway("east", ports=(lo, hi))
    east.link(west)
    east.link(north)
    west_keys = [f"default/{n}-west:7000" for n in west_names]
    north_keys = [f"default/{n}-north:7000" for n in north_names]
    first = table(east, west_keys + north_keys)
    if sorted(first.values()) != list(range(lo, hi + 1)):
        raise Fail(f"16 routes should fill {lo}-{hi}: {first}")
    for round in range(1, 6):
        if east.stop() != 0:
            raise Fail(f"round {round}: east did not exit 0: {east.log_tail()}")
        late, early_keys = (west, north_keys) if round % 2 else (north, west_keys)
        late.proc.send_signal(signal.SIGSTOP)
        try:
            east.start()
            table(east, early_keys)
        finally:
            late.proc.send_signal(signal.SIGCONT)
        t = table(east, west_keys + north_keys)
        if t != first:
            diff = {k: (first.get(k), t.get(k)) for k in first if first.get(k) != t.get(k)}
            raise Fail(f"round {round} ({late.cluster} late): ports moved (before, after): {diff}")

    # svc03 withdrawn: its port is refused; a route added meanwhile does not get it.
    gone = "default/svc03-west:7000"
    held = first[gone]
    rest = [n for n in west_names if n != "svc03"]
    west.set_services([svc(n) for n in rest])
    east.wait_route(gone, timeout=10, present=False)
    eventually(lambda: h.outcome(held) == "refused", 5, 0.1, f"port {held} of the withdrawn route refused")
    west.set_services([svc(n) for n in rest + ["fresh"]])
    eventually(lambda: east.log_count(r"default/fresh-west:7000 has no listener: no free port") >= 1, 10, 0.1,
               "the route added meanwhile waits for a port")
    time.sleep(1.5)  # a retry tick or more
    stale = h.outcome(held)
    if stale != "refused":
        raise Fail(f"a stale client of {gone} on port {held} got {stale!r}, not refused")
    if "default/fresh-west:7000" in east.routes():
        raise Fail(f"the route added meanwhile got a port: {east.routes()}")
    west.set_services([svc(n) for n in west_names])
    back = eventually(lambda: east.routes().get(gone), 10, 0.1, f"{gone} back")
    if back != held:
        raise Fail(f"{gone} came back on {back}, not its port {held}")
    answer = eventually(lambda: (lambda a: a if a.startswith("west:") else None)(h.outcome(held, b"svc03\n")), 10, 0.2,
                        f"traffic through {gone} on {held}")
    expect_answer(answer, "west:svc03\n", f"through {gone} on {held}")
    return f"16 routes, same table over 5 restarts (links in either order); {gone} back on {held}, stale client refused meanwhile"


CASES = [
    Case("route-ports-two-replicas-in-namespaces", replicas_in_two_namespaces, backends=None, timeout=150),
    Case("route-ports-restarts-and-withdrawal", restarts_and_withdrawal, backends=None, timeout=150),
]
