"""East and west for one io backend: the PKI (once per run, `meshgate identity`), each gateway's
folder and gateway.yaml, west's registry exporting the echo backend, east linked to west
(`meshgate link` / `meshgate link add`, as scripts/e2e-netns does), and the processes: the echo
backend in west (meshgate-bench backend), both gateways, and the load client in east. Every wait
is bounded; a failure raises SetupError with the log's tail."""

import os
import re
import subprocess
import sys
import time

from benchcompare.processes import tail

from .netns import WEST_IP

GATEWAY_PORT = 4143
ADMIN_PORT = 9990
ECHO_PORT = 17000
ROUTE_KEY = "default/echo-west:7000"
CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "client.py")


class SetupError(Exception):
    """The set-up of a backend's run failed; the message says where."""


def meshgate_step(binary, log, *args, cwd=None):
    """One `meshgate …` command (identity, link) with its output appended to `log`, bounded by 60 s."""
    with open(log, "a") as out:
        try:
            status = subprocess.run([binary, *args], stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                    timeout=60).returncode
        except subprocess.TimeoutExpired:
            status = 124
    if status != 0:
        raise SetupError(f"meshgate {' '.join(args)} failed (exit {status}):\n{tail(log, 10)}".rstrip())


def make_pki(binary, workdir):
    """One trust anchor, an issuer per cluster, a gateway leaf each, in workdir/pki."""
    pki = os.path.join(workdir, "pki")
    os.makedirs(pki, exist_ok=True)
    log = os.path.join(workdir, "pki.log")
    meshgate_step(binary, log, "identity", "init", "--trust-domain", "cluster.local", "--out", "anchor", cwd=pki)
    for c in ("east", "west"):
        meshgate_step(binary, log, "identity", "issuer", "--anchor", "anchor", "--cluster", c, "--out", f"{c}-issuer",
                      cwd=pki)
        meshgate_step(binary, log, "identity", "issue", "--issuer", f"{c}-issuer", "--gateway", "--out", f"{c}/id",
                      cwd=pki)
    return pki


def gateway_yaml(cluster, io_backend, loops, links_keys=None):
    """gateway.yaml of one side. West's admin listens on its veth address too: the client in east
    reads both gateways' /status. `links_keys` (e.g. "pool: {idle: 4}") joins east's `links:` map."""
    admin = f"127.0.0.1:{ADMIN_PORT}" if cluster == "east" else f"0.0.0.0:{ADMIN_PORT}"
    lines = [
        f"cluster: {cluster}",
        "trustDomain: cluster.local",
        "identity: {cert: id/tls.crt, key: id/tls.key, trust: id/ca.crt}",
        f"inbound: {{listen: 0.0.0.0:{GATEWAY_PORT}}}",
        "outbound: {bind: 127.0.0.1, ports: 4200-4299}",
        f"admin: {{listen: {admin}}}",
        f"loops: {loops}",
        f"ioBackend: {io_backend}",
    ]
    links = "links: {dir: links/" + (f", {links_keys}" if links_keys else "") + "}"
    lines += [links] if cluster == "east" else ["registry: registry.yaml"]
    return "\n".join(lines) + "\n"


REGISTRY = (f"services:\n  - {{namespace: default, name: echo, ports: [{{port: 7000, targetPort: {ECHO_PORT}}}], "
            f'endpoints: ["127.0.0.1:{ECHO_PORT}"], exported: true}}\n')


def write_configs(binary, pki, root, io_backend, loops, links_keys=None):
    """root/east and root/west with their identity, gateway.yaml, west's registry and east's link
    (`links_keys`: extra keys of east's `links:` map, see gateway_yaml)."""
    for c in ("east", "west"):
        folder = os.path.join(root, c)
        os.makedirs(folder, exist_ok=True)
        subprocess.run(["cp", "-r", os.path.join(pki, c, "id"), folder], check=True, timeout=20)
        with open(os.path.join(folder, "gateway.yaml"), "w") as f:
            f.write(gateway_yaml(c, io_backend, loops, links_keys))
    with open(os.path.join(root, "west", "registry.yaml"), "w") as f:
        f.write(REGISTRY)
    log = os.path.join(root, "link.log")
    bundle = os.path.join(root, "west.link.yaml")
    with open(bundle, "w") as out, open(log, "a") as err:
        status = subprocess.run([binary, "link", "--config", os.path.join(root, "west", "gateway.yaml"), "--address",
                                 f"{WEST_IP}:{GATEWAY_PORT}"], stdout=out, stderr=err, timeout=60).returncode
    if status != 0:
        raise SetupError(f"meshgate link failed (exit {status}):\n{tail(log, 10)}".rstrip())
    meshgate_step(binary, log, "link", "add", bundle, "--config", os.path.join(root, "east", "gateway.yaml"))


def wait_for(what, check, seconds, proc=None, log=None):
    """Polls `check()` every 0.1 s until it returns a truthy value (returned); SetupError after
    `seconds` or when `proc` exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise SetupError(f"{what}: the process exited ({proc.returncode}); log:\n{tail(log, 15)}".rstrip())
        time.sleep(0.1)
    raise SetupError(f"{what}: not within {seconds} s" + (f"; log:\n{tail(log, 15)}".rstrip() if log else ""))


def route_port(log):
    """The local port of east's mirrored echo route, from east's log (None before it is up)."""
    match = None
    for match in re.finditer(rf"route {re.escape(ROUTE_KEY)} on [0-9.]+:([0-9]+)", tail(log, 10000)):
        pass
    return int(match.group(1)) if match else None


class Cluster:
    """The running processes of one backend's run, all through `processes` (stopped by the caller)."""

    def __init__(self, pair, processes, root, meshgate, bench):
        self.pair, self.processes, self.root = pair, processes, root
        self.meshgate, self.bench = meshgate, bench
        self.gateways = {}
        self.client = None
        self.port = None

    def log(self, name):
        return os.path.join(self.root, f"{name}.log")

    def start(self):
        """Backend, west, east; returns once east has mirrored the echo route."""
        backend = self.processes.launch(
            self.pair.exec_prefix("west") + [self.bench, "backend", "--listen", f"127.0.0.1:{ECHO_PORT}",
                                             "--behavior", "echo", "--threads", "1"], self.log("backend"))
        wait_for("the echo backend in west", lambda: "listening" in tail(self.log("backend"), 5), 15, backend,
                 self.log("backend"))
        for c in ("west", "east"):
            with open(self.log(c), "w") as out:
                proc = subprocess.Popen(
                    self.pair.exec_prefix(c) + [self.meshgate, "gateway", "--config", "gateway.yaml", "--log-level",
                                                "info"],
                    cwd=os.path.join(self.root, c), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            self.processes.running.append(proc)
            self.gateways[c] = proc
            wait_for(f"{c}'s gateway start", lambda c=c: f"meshgate gateway of cluster {c}" in tail(self.log(c), 50),
                     20, proc, self.log(c))
        self.port = wait_for(f"east mirroring {ROUTE_KEY}", lambda: route_port(self.log("east")), 30,
                             self.gateways["east"], self.log("east"))
        return self.port

    def start_client(self, script=CLIENT):
        """The load client in east (`script`, bench-scale's by default), talking JSON lines over
        pipes (its stderr is ours)."""
        self.client = subprocess.Popen(self.pair.exec_prefix("east") + [sys.executable, "-B", script],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        self.processes.running.append(self.client)
        return self.client

    def dead(self):
        """The names of processes that exited, for a failed phase's message."""
        return [c for c, p in self.gateways.items() if p.poll() is not None]
