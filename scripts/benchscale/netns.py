"""The two network namespaces of a bench-scale run: east and west joined by one veth pair, each end
with its own 10.63.0.x address, and the sysctls many connections need. `Pair.remove()` deletes
both (their sockets and the veth go with them); it is safe to call twice."""

import os
import subprocess

EAST_IP = "10.63.0.1"
WEST_IP = "10.63.0.2"
PREFIX = 24
# Per-namespace sysctls: a deep accept queue, a wide ephemeral port range (east opens two sockets
# per connection from its own ranges), and TIME_WAIT ports reused for new outgoing connections.
SYSCTLS = {
    "net.core.somaxconn": "65535",
    "net.ipv4.tcp_max_syn_backlog": "65535",
    "net.ipv4.ip_local_port_range": "10000 65000",
    "net.ipv4.tcp_tw_reuse": "1",
}


class NetnsError(Exception):
    """A namespace, link or sysctl could not be made; the message says which and why."""


def run(*command):
    """Runs an `ip`/`sysctl` command bounded by 20 s; raises NetnsError with its stderr."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        raise NetnsError(f"{' '.join(command)}: no answer within 20 s") from None
    if done.returncode != 0:
        raise NetnsError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.stdout


class Pair:
    """East and west, named after this process and a tag so that two runs never meet."""

    def __init__(self, tag):
        self.names = {c: f"mgsc{os.getpid()}-{tag}-{c}" for c in ("east", "west")}
        self.made = []

    def create(self):
        """Makes both namespaces, the veth between them (created inside them: nothing appears in the
        host's namespace), the addresses and the sysctls."""
        for name in self.names.values():
            run("ip", "netns", "add", name)
            self.made.append(name)
            run("ip", "-n", name, "link", "set", "lo", "up")
        east, west = self.names["east"], self.names["west"]
        run("ip", "link", "add", "eth0", "netns", east, "type", "veth", "peer", "name", "eth0", "netns", west)
        for name, address in ((east, EAST_IP), (west, WEST_IP)):
            run("ip", "-n", name, "addr", "add", f"{address}/{PREFIX}", "dev", "eth0")
            run("ip", "-n", name, "link", "set", "eth0", "up")
            for key, value in SYSCTLS.items():
                run("ip", "netns", "exec", name, "sysctl", "-qw", f"{key}={value}")

    def add_delay(self, milliseconds):
        """Delays every packet leaving either end of the veth by `milliseconds` (`tc qdisc add dev
        eth0 root netem delay`, on both ends: an RTT of twice that). NetnsError when tc or the
        kernel's sch_netem is missing."""
        for name in self.names.values():
            run("ip", "netns", "exec", name, "tc", "qdisc", "add", "dev", "eth0", "root", "netem", "delay",
                f"{milliseconds:g}ms")

    def exec_prefix(self, cluster):
        """The command prefix that runs a program inside `cluster`'s namespace (`ip netns exec`
        execs the program, so its pid is the one Popen reports)."""
        return ["ip", "netns", "exec", self.names[cluster]]

    def kill_leftovers(self):
        """KILLs any process still in our namespaces (only ours run there)."""
        for name in self.made:
            try:
                pids = run("ip", "netns", "pids", name).split()
            except NetnsError:
                continue
            for pid in pids:
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass

    def remove(self):
        """Deletes the namespaces made (the veth goes with them); returns the ones that stayed."""
        self.kill_leftovers()
        stayed = []
        for name in reversed(self.made):
            try:
                run("ip", "netns", "del", name)
            except NetnsError:
                stayed.append(name)
        self.made = []
        return stayed
