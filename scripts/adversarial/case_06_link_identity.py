"""Issue 11, case 6 and 10–13 (bundles and probes).

- link-identity: `sed s/meshgate-west/meshgate-north/` on west's bundle: `link add` refuses it
  (exit 2, nothing written); dropped straight into east's links folder it is refused by the
  running gateway (`… (link not changed)`) and the west mirror carries on; putting the good
  bundle back over it shows the identity change and needs --replace; 17 addresses are refused.
- probe-dead-addresses: a bundle listing west's real address, four addresses that accept TCP and
  never answer TLS, and a host name that does not resolve: the link stays up on the live one,
  its probes are not serialised behind the dead ones, and the DNS failure is warned once.
- probe-emfile: east's RLIMIT_NOFILE lowered (soft) to its lowest free descriptor while linked:
  its probes fail with EMFILE here, which does not count against west; the link stays up.
"""

import os
import socket
import time

from harness import Case, Fail, eventually, expect_answer, write_atomically

KEY = "default/echo-west:7000"


def linked_pair(h, links_yaml=None):
    west = h.echo_gateway("west", "echo", "echo-west")
    east = h.gateway("east", links_yaml=links_yaml)
    return west, east


def link_identity(h) -> str:
    west, east = linked_pair(h)
    h.gateway("north")
    east.link(west)
    port = east.wait_route(KEY)
    if h.outcome(port) != "echo-west:hello\n":
        raise Fail(f"{KEY} before: {h.outcome(port)!r}")
    good = west.bundle()
    target = east.links_dir / "west.link.yaml"
    in_place = target.read_text()

    forged = h.work / "x.link.yaml"
    forged.write_text(good.read_text().replace("meshgate-west", "meshgate-north"))
    run = east.link_file(forged, check=False)
    if run.returncode != 2 or "is not the gateway identity of cluster 'west'" not in run.stderr:
        raise Fail(f"link add of the forged bundle: exit {run.returncode}: {(run.stderr or run.stdout).strip()[:300]}")
    if target.read_text() != in_place:
        raise Fail("link add of the forged bundle wrote the links folder")

    # Dropped into the folder by hand: the running gateway refuses it and keeps the mirror.
    write_atomically(target, forged.read_text())
    eventually(lambda: east.log_count(r"west\.link\.yaml:\d+: identity: .*is not the gateway identity of cluster 'west'.*\(link not changed\)") >= 1,
               10, 0.1, "east refuses the forged bundle in its links folder")
    time.sleep(4.2)  # more than failureThreshold (3) probe rounds of 1 s
    link = east.link_status("west")
    if not link.get("alive") or east.log_count("link west: mirror started") != 1:
        raise Fail(f"the west mirror changed: alive={link.get('alive')}, starts={east.log_count('link west: mirror started')}")
    if h.outcome(port) != "echo-west:hello\n":
        raise Fail(f"{KEY} with the forged bundle in the folder: {h.outcome(port)!r}")

    # The good bundle over it: the change is shown and needs --replace.
    run = east.link_file(good, check=False)
    change = "identity: spiffe://cluster.local/ns/meshgate-north/sa/gateway → spiffe://cluster.local/ns/meshgate-west/sa/gateway"
    if run.returncode == 0 or change not in run.stderr or "--replace" not in run.stderr:
        raise Fail(f"link add over an existing link without --replace: exit {run.returncode}: {(run.stderr or run.stdout)[:300]}")
    if target.read_text() != forged.read_text():
        raise Fail("link add without --replace wrote the links folder")
    run = east.link_file(good, "--replace", check=False)
    if run.returncode != 0 or change not in run.stdout:
        raise Fail(f"link add --replace: exit {run.returncode}: {(run.stderr or run.stdout)[:300]}")

    many = h.work / "many.link.yaml"
    addresses = "".join(f'  - "127.0.0.1:{30000 + i}"\n' for i in range(17))
    text = good.read_text()
    start = text.index("gateways:\n") + len("gateways:\n")
    end = text.index("identity:")
    many.write_text(text[:start] + addresses + text[end:])
    run = east.link_file(many, check=False)
    if run.returncode != 2 or "gateways: lists 17 gateway addresses; at most 16 are allowed" not in run.stderr:
        raise Fail(f"17 addresses: exit {run.returncode}: {(run.stderr or run.stdout).strip()[:300]}")
    return "forged bundle refused by link add and by the folder watcher; --replace shown and needed; 17 addresses refused"


def hung_listener(h) -> int:
    """A loopback port that completes TCP handshakes (backlog) and never answers: TLS times out."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    h._servers.append(s)
    return s.getsockname()[1]


def probe_dead_addresses(h) -> str:
    west, east = linked_pair(h, "{dir: links, probe: {interval: 1200ms, timeout: 1s, failureThreshold: 2}}")
    hung = [hung_listener(h) for _ in range(4)]
    host = "no-such-gateway.invalid"
    bundle = west.bundle().read_text()
    live = f'  - "127.0.0.1:{west.inbound}"\n'
    dead = "".join(f'  - "127.0.0.1:{p}"\n' for p in hung) + f'  - "{host}:4143"\n'
    path = h.work / "west.link.yaml"
    # Live first: the discover stream dials the addresses in order before the first probe round
    # has found the live ones (each dead one would cost it a connect timeout).
    path.write_text(bundle.replace(live, live + dead))
    east.link_file(path)
    port = east.wait_route(KEY, timeout=15)
    eventually(lambda: east.link_status("west").get("probes", {}).get("answered", 0) >= 1, 10, 0.1, "a first answered probe")
    before = east.link_status("west")["probes"]["answered"]
    time.sleep(12)
    link = east.link_status("west")
    answered = link["probes"]["answered"] - before
    # Concurrent rounds take 1.2 s + 1 s: about 5 in 12 s; one after the other (1.2 s + 4 × 1 s)
    # at most 3.
    if answered < 4:
        raise Fail(f"{answered} probes answered in 12 s: rounds are serialised behind the dead addresses")
    if not link.get("alive") or link.get("liveGateways") != [f"127.0.0.1:{west.inbound}"]:
        raise Fail(f"link west: alive={link.get('alive')}, live={link.get('liveGateways')}")
    if h.outcome(port) != "echo-west:hello\n":
        raise Fail(f"{KEY}: {h.outcome(port)!r}")
    warned = east.log_count(f"gateway {host}:4143 does not resolve")
    if warned != 1:
        raise Fail(f"the unresolvable host was warned {warned} times in ~10 s (want once)")
    return f"{answered} probes answered in 12 s with 4 hung addresses; DNS failure warned once"


def probe_emfile(h) -> str:
    west, east = linked_pair(h)
    east.link(west)
    port = east.wait_route(KEY)
    pid = east.pid
    # The kernel hands out the lowest free number; a soft limit at the lowest number found free
    # (over a second: probe sockets come and go) leaves no descriptor for a new socket.
    lowest = 1 << 20
    for _ in range(20):
        taken = {int(n) for n in os.listdir(f"/proc/{pid}/fd") if n.isdigit()}
        lowest = min(lowest, next(n for n in range(0, 1 << 20) if n not in taken))
        time.sleep(0.05)
    soft = next(line.split()[3] for line in open(f"/proc/{pid}/limits") if line.startswith("Max open files"))
    h.run(["prlimit", "--pid", str(pid), f"--nofile={lowest}:"])
    try:
        eventually(lambda: east.log_count("failed here, not there") >= 1, 10, 0.1, "a probe failing here (EMFILE)")
        time.sleep(4.2)  # more than failureThreshold (3) rounds of 1 s
        downs = east.log_count("link west: down")
        counted = east.log_count("link west: probe round")
    finally:
        h.run(["prlimit", "--pid", str(pid), f"--nofile={soft}:"], check=False)
    if downs or counted:
        raise Fail(f"EMFILE probes counted against west: {downs} down, {counted} counted rounds: {east.log_tail()}")
    eventually(lambda: east.link_status("west").get("alive"), 5, 0.1, "link west alive")
    expect_answer(h.outcome(port), "echo-west:hello\n", f"{KEY} after the descriptor limit was restored")
    return f"probes failed with EMFILE for ~5 s (limit {lowest}), not counted; link west stayed up"


CASES = [
    Case("link-identity", link_identity, backends=None, timeout=120),
    Case("probe-dead-addresses", probe_dead_addresses, backends=None, timeout=90),
    Case("probe-emfile", probe_emfile, backends=None, timeout=90),
]
