"""Harness for scripts/e2e-adversarial: real `meshgate gateway` processes on loopback (or in
network namespaces the harness creates), a throwaway PKI made with `meshgate identity`, link
bundles made with `meshgate link`, and small TCP helpers. Every wait is bounded in time.

A case is a function `fn(h: Harness) -> str` that returns a short detail on success and raises
`Fail` (or AssertionError) otherwise; a case file lists them as `CASES = [Case(...)]`.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "pylib"))
from gateway_io import GatewayLog, http_get  # noqa: E402


class Fail(Exception):
    """A check did not hold; the message says what was seen."""


def expect_answer(answer: str, want: str, context: str) -> None:
    """Raises `Fail("CONTEXT: ANSWER")` unless a connection's answer (`Harness.outcome`) is `want`."""
    if answer != want:
        raise Fail(f"{context}: {answer!r}")


class Abort(Fail):
    """A failure that `eventually` must not wait out (a process died)."""


@dataclass
class Case:
    """One adversarial check. `backends`: run once per io backend ("uring", "epoll"), or once
    with the gateway's default (None) when the event loop is not what is being tested."""

    name: str
    fn: Callable[["Harness"], str]
    backends: Optional[Sequence[str]] = None
    timeout: float = 180.0


def eventually(check: Callable[[], object], timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """Calls `check` until it returns a truthy value (returned) or `timeout` passes (Fail).
    Exceptions inside `check` count as 'not yet'; the last one is reported."""
    deadline = time.monotonic() + timeout
    last: Optional[BaseException] = None
    while True:
        try:
            value = check()
            if value:
                return value
        except Abort:
            raise
        except Exception as e:  # noqa: BLE001 - reported below
            last = e
        if time.monotonic() >= deadline:
            raise Fail(f"{what}: not seen within {timeout:g}s" + (f" (last error: {last})" if last else ""))
        time.sleep(interval)


def can_bind(port: int, host: str = "127.0.0.1") -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class PKI:
    """One trust anchor, an issuer per cluster and leaves, made with `meshgate identity`."""

    def __init__(self, h: "Harness", trust_domain: str = "cluster.local"):
        self.h = h
        self.dir = h.work / "pki"
        self.trust_domain = trust_domain
        self.anchor = self.dir / "anchor"
        h.meshgate("identity", "init", "--trust-domain", trust_domain, "--out", str(self.anchor))
        self._issuers: dict[str, Path] = {}

    def issuer(self, cluster: str) -> Path:
        """The folder of cluster's issuer (issuer.crt, issuer.key, ca.crt)."""
        if cluster not in self._issuers:
            out = self.dir / f"{cluster}-issuer"
            self.h.meshgate("identity", "issuer", "--anchor", str(self.anchor), "--cluster", cluster, "--out", str(out))
            self._issuers[cluster] = out
        return self._issuers[cluster]

    def gateway(self, cluster: str, out: Optional[Path] = None, valid: str = "24h", issuer_of: Optional[str] = None) -> Path:
        """A gateway leaf for `cluster` (tls.crt, tls.key, ca.crt), issued by the issuer of
        `issuer_of` (default: the cluster's own)."""
        out = out or self.dir / f"{cluster}-gateway"
        issuer = self.issuer(issuer_of or cluster)
        if issuer_of and issuer_of != cluster:
            args = ["--namespace", f"meshgate-{cluster}", "--name", "gateway"]
        else:
            args = ["--gateway"]
        self.h.meshgate("identity", "issue", "--issuer", str(issuer), *args, "--out", str(out), "--valid", valid, "--force")
        return out

    def workload(self, cluster: str, namespace: str, name: str, out: Optional[Path] = None, valid: str = "24h") -> Path:
        out = out or self.dir / f"{cluster}-{namespace}-{name}"
        self.h.meshgate(
            "identity", "issue", "--issuer", str(self.issuer(cluster)), "--namespace", namespace, "--name", name,
            "--out", str(out), "--valid", valid, "--force")
        return out

    def identity(self, namespace: str, name: str) -> str:
        return f"spiffe://{self.trust_domain}/ns/{namespace}/sa/{name}"

    def gateway_identity(self, cluster: str) -> str:
        return self.identity(f"meshgate-{cluster}", "gateway")


def service(name: str, ports: Iterable, endpoints: Iterable[str], namespace: str = "default",
            exported: bool = True, allow: Optional[Iterable[str]] = None) -> dict:
    """A registry entry (see docs/gateway-config.md, registry.yaml). A port is a number (the
    service port and the endpoints' port) or a pair (port, targetPort)."""
    return {"name": name, "namespace": namespace, "ports": list(ports), "endpoints": list(endpoints),
            "exported": exported, "allow": list(allow) if allow is not None else None}


def registry_yaml(services: Sequence[dict]) -> str:
    if not services:
        return "services: []\n"
    out = ["services:"]
    for s in services:
        out.append(f"  - namespace: {s['namespace']}")
        out.append(f"    name: {s['name']}")
        ports = [f"{{port: {p[0]}, targetPort: {p[1]}}}" if isinstance(p, tuple) else str(p) for p in s["ports"]]
        out.append(f"    ports: [{', '.join(ports)}]")
        out.append(f"    endpoints: [{', '.join(json.dumps(e) for e in s['endpoints'])}]")
        out.append(f"    exported: {'true' if s['exported'] else 'false'}")
        if s.get("allow") is not None:
            out.append(f"    allow: [{', '.join(s['allow'])}]")
    return "\n".join(out) + "\n"


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


class Gateway(GatewayLog):
    """One `meshgate gateway` process with its own folder (gateway.yaml, registry.yaml, links/,
    state/, gateway.log). Created by `Harness.gateway`; `start()` waits for /ready."""

    def __init__(self, h: "Harness", cluster: str, folder: Path, identity: Path, services: Sequence[dict],
                 host: str, inbound: int, admin: int, ports: tuple[int, int], backend: Optional[str],
                 links_yaml: Optional[str], extra: str, netns: Optional[str]):
        self.h = h
        self.cluster = cluster
        self.folder = folder
        self.identity = identity
        self.host = host
        self.inbound = inbound
        self.admin = admin
        self.ports = ports
        self.backend = backend
        self.netns = netns
        self.config = folder / "gateway.yaml"
        self.registry = folder / "registry.yaml"
        self.links_dir = folder / "links"
        self.state_dir = folder / "state"
        self.log_path = folder / "gateway.log"
        self.links_yaml = links_yaml
        self.extra = extra
        self.proc: Optional[subprocess.Popen] = None
        folder.mkdir(parents=True, exist_ok=True)
        self.links_dir.mkdir(exist_ok=True)
        self.state_dir.mkdir(exist_ok=True)
        write_atomically(self.registry, registry_yaml(services))
        self.write_config()

    # -- files ---------------------------------------------------------------------------------
    def config_text(self) -> str:
        links = self.links_yaml or "{dir: links, probe: {interval: 1s, timeout: 500ms, failureThreshold: 3}}"
        text = (
            f"cluster: {self.cluster}\n"
            f"identity:\n  cert: {self.identity}/tls.crt\n  key: {self.identity}/tls.key\n  trust: {self.identity}/ca.crt\n"
            f"inbound:\n  listen: {self.host}:{self.inbound}\n"
            f"outbound:\n  bind: 127.0.0.1\n  ports: {self.ports[0]}-{self.ports[1]}\n"
            f"admin:\n  listen: 127.0.0.1:{self.admin}\n"
            f"limits:\n  drainTimeout: 2s\n  connectTimeout: 2s\n"
            f"loops: 2\n"
            f"registry: registry.yaml\n"
            f"links: {links}\n"
            f"stateDir: state\n"
        )
        if self.backend:
            text += f"ioBackend: {self.backend}\n"
        return text + self.extra

    def write_config(self, text: Optional[str] = None) -> None:
        write_atomically(self.config, text if text is not None else self.config_text())

    def set_services(self, services: Sequence[dict]) -> None:
        write_atomically(self.registry, registry_yaml(services))

    # -- process -------------------------------------------------------------------------------
    def start(self, wait_ready: bool = True, timeout: float = 20.0) -> "Gateway":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = open(self.log_path, "ab")
        cmd = [str(self.h.bin), "gateway", "--config", str(self.config)]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns] + cmd
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=self.folder, start_new_session=True)
        log.close()
        self.h._processes.append(self.proc)
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 20.0) -> None:
        def ready():
            if self.proc and self.proc.poll() is not None:
                raise Abort(f"gateway {self.cluster} exited with {self.proc.returncode}: {self.log_tail()}")
            return self.get("/ready")[0] == 200
        try:
            eventually(ready, timeout, 0.1, f"gateway {self.cluster} /ready")
        except Abort:
            raise
        except Fail as e:
            raise Fail(f"{e}; log: {self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> Optional[int]:
        """Signals the gateway and waits for it to exit; returns its exit code."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise Fail(f"gateway {self.cluster} did not exit within {timeout:g}s of signal {sig}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def restart(self, timeout: float = 20.0) -> "Gateway":
        self.stop()
        return self.start(timeout=timeout)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.log()))

    # -- admin ---------------------------------------------------------------------------------
    def get(self, path: str, timeout: float = 3.0) -> tuple[int, str]:
        """GET on the admin endpoint: (status, body); (0, error) when no answer came."""
        if self.netns:
            try:
                out = subprocess.run(
                    ["ip", "netns", "exec", self.netns, "curl", "-s", "-m", str(timeout), "-w", "\n%{http_code}",
                     f"http://127.0.0.1:{self.admin}{path}"], capture_output=True, text=True, timeout=timeout + 2)
            except subprocess.TimeoutExpired:
                return 0, "timeout"
            body, _, code = out.stdout.rpartition("\n")
            return (int(code) if code.isdigit() else 0), body
        return http_get(http.client.HTTPConnection("127.0.0.1", self.admin, timeout=timeout), path)

    def probe(self, path: str, timeout: float = 1.0) -> tuple[Optional[str], float]:
        """A timed GET on the admin endpoint: (None, seconds) for a 200 within `timeout`, else
        (what went wrong, seconds)."""
        started = time.monotonic()
        code, body = self.get(path, timeout=timeout)
        took = time.monotonic() - started
        if code != 200 or took > timeout:
            return f"{path}: {code} {body[:80]!r} after {took:.2f} s", took
        return None, took

    def status(self) -> dict:
        code, body = self.get("/status")
        if code != 200:
            raise Fail(f"gateway {self.cluster} /status answered {code}: {body[:200]}")
        return json.loads(body)

    def metrics(self) -> str:
        code, body = self.get("/metrics")
        if code != 200:
            raise Fail(f"gateway {self.cluster} /metrics answered {code}")
        return body

    def metric(self, name: str, **labels: str) -> float:
        """The sum of the samples of `name` whose labels include `labels` (0 when none)."""
        total = 0.0
        for line in self.metrics().splitlines():
            if not line.startswith(name) or line.startswith("#"):
                continue
            m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)", line)
            if not m or m.group(1) != name:
                continue
            have = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
            if all(have.get(k) == v for k, v in labels.items()):
                total += float(m.group(4))
        return total

    def counter(self, name: str) -> int:
        """A data-plane counter from /status (`counters`)."""
        return int(self.status().get("counters", {}).get(name, 0))

    def routes(self) -> dict[str, int]:
        """Published routes: key -> local port."""
        out = {}
        for r in self.status().get("routes", []):
            out[r["key"]] = int(r["listen"].rsplit(":", 1)[1])
        return out

    def link_status(self, cluster: str) -> dict:
        for link in self.status().get("links", []):
            if link["cluster"] == cluster:
                return link
        raise Fail(f"gateway {self.cluster} has no link to {cluster}")

    # -- links ---------------------------------------------------------------------------------
    def bundle(self, address: Optional[str] = None) -> Path:
        """This gateway's link bundle (`meshgate link`), written to its folder."""
        out = self.folder / f"{self.cluster}.bundle.yaml"
        text = self.h.meshgate("link", "--config", str(self.config), "--address", address or f"{self.host}:{self.inbound}")
        out.write_text(text)
        return out

    def link(self, other: "Gateway", *extra: str) -> str:
        """Adds `other`'s bundle to this gateway's links folder (`meshgate link add`)."""
        return self.h.meshgate("link", "add", str(other.bundle()), "--config", str(self.config), *extra)

    def link_file(self, bundle: Path, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.h.run([str(self.h.bin), "link", "add", str(bundle), "--config", str(self.config), *extra], check=check)

    def unlink(self, cluster: str) -> str:
        return self.h.meshgate("link", "remove", cluster, "--config", str(self.config))

    def wait_route(self, key: str, timeout: float = 10.0, present: bool = True) -> Optional[int]:
        def seen():
            r = self.routes()
            return (r.get(key) or False) if present else (key not in r)
        v = eventually(seen, timeout, 0.1, f"gateway {self.cluster}: route {key} {'published' if present else 'withdrawn'}")
        return v if present else None


class Harness:
    """What one case runs with: a work folder, the meshgate binary, port and process bookkeeping.
    Everything a case starts (processes, network namespaces, threads) ends in `close()`."""

    def __init__(self, binary: Path, work: Path, backend: Optional[str]):
        self.bin = binary
        self.work = work
        self.backend = backend
        self._pki: Optional[PKI] = None
        self._processes: list[subprocess.Popen] = []
        self._netns: list[str] = []
        self._links: list[str] = []
        self._servers: list[socket.socket] = []
        self._taken: set[int] = set()
        self._gateways: list[Gateway] = []

    # -- commands ------------------------------------------------------------------------------
    def run(self, cmd: Sequence[str], check: bool = True, timeout: float = 30.0, **kw) -> subprocess.CompletedProcess:
        out = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, **kw)
        if check and out.returncode != 0:
            raise Fail(f"{' '.join(cmd)} exited {out.returncode}: {(out.stderr or out.stdout).strip()[:400]}")
        return out

    def meshgate(self, *args: str) -> str:
        return self.run([str(self.bin), *args]).stdout

    @property
    def pki(self) -> PKI:
        if self._pki is None:
            self._pki = PKI(self)
        return self._pki

    # -- ports ---------------------------------------------------------------------------------
    def port(self) -> int:
        """A loopback port free now (not handed out before in this case)."""
        for _ in range(200):
            p = random.randint(20000, 60000)
            if p not in self._taken and can_bind(p):
                self._taken.add(p)
                return p
        raise Fail("no free loopback port")

    def port_block(self, count: int) -> tuple[int, int]:
        """`count` consecutive loopback ports, all free now: (first, last)."""
        for _ in range(200):
            base = random.randint(20000, 60000 - count)
            block = range(base, base + count)
            if any(p in self._taken for p in block):
                continue
            if all(can_bind(p) for p in block):
                self._taken.update(block)
                return base, base + count - 1
        raise Fail(f"no block of {count} free loopback ports")

    # -- gateways ------------------------------------------------------------------------------
    def gateway(self, cluster: str, services: Sequence[dict] = (), *, name: Optional[str] = None,
                identity: Optional[Path] = None, host: str = "127.0.0.1", ports: Optional[tuple[int, int]] = None,
                backend: Optional[str] = "default", links_yaml: Optional[str] = None, extra: str = "",
                netns: Optional[str] = None, start: bool = True) -> Gateway:
        """A gateway for `cluster` with the given registry services; `name` names its folder
        (default: the cluster; give one per replica). `backend="default"` takes the case's."""
        folder = self.work / (name or cluster)
        g = Gateway(
            self, cluster, folder, identity or self.pki.gateway(cluster), services, host,
            self.port() if not netns else 4143, self.port() if not netns else 4191, ports or self.port_block(64),
            self.backend if backend == "default" else backend, links_yaml, extra, netns)
        self._gateways.append(g)
        if start:
            g.start()
        return g

    # -- TCP helpers ---------------------------------------------------------------------------
    def echo_gateway(self, cluster: str, service_name: str, tag: str, **kw) -> Gateway:
        """A gateway for `cluster` (further arguments as for `gateway`) exporting `service_name`
        on port 7000, backed by a `tagged_server(tag)`: a line comes back as `TAG:<line>`."""
        backend = self.tagged_server(tag)
        return self.gateway(cluster, [service(service_name, [(7000, backend)], [f"127.0.0.1:{backend}"])], **kw)

    def tagged_server(self, tag: str, host: str = "127.0.0.1") -> int:
        """A TCP server that answers every connection with `tag:` followed by what it read
        (up to the client's half-close or 64 KiB), then closes. Returns its port."""
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host, 0))
        srv.listen(256)
        self._servers.append(srv)

        def serve_one(c: socket.socket):
            try:
                c.settimeout(5)
                data = b""
                while len(data) < 65536:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                    if data.endswith(b"\n"):
                        break
                c.sendall(tag.encode() + b":" + data)
                c.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            finally:
                c.close()

        def loop():
            while True:
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                threading.Thread(target=serve_one, args=(c,), daemon=True).start()

        threading.Thread(target=loop, daemon=True).start()
        return srv.getsockname()[1]

    @staticmethod
    def request(port: int, data: bytes = b"hello\n", host: str = "127.0.0.1", timeout: float = 5.0) -> bytes:
        """Connects, sends `data`, half-closes and reads until EOF. Raises OSError (e.g.
        ConnectionRefusedError, ConnectionResetError) as the socket does."""
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out
                out += chunk

    @staticmethod
    def outcome(port: int, data: bytes = b"hello\n", host: str = "127.0.0.1", timeout: float = 5.0) -> str:
        """`request` as text: the answer, or `refused`, `reset`, `timeout`, `error: …`."""
        try:
            return Harness.request(port, data, host, timeout).decode(errors="replace")
        except ConnectionRefusedError:
            return "refused"
        except ConnectionResetError:
            return "reset"
        except socket.timeout:
            return "timeout"
        except OSError as e:
            return f"error: {e}"

    # -- network namespaces --------------------------------------------------------------------
    def netns(self, name: str) -> str:
        """A network namespace with `lo` up, removed when the case ends. Needs root."""
        full = f"mgadv-{os.getpid()}-{name}"
        self.run(["ip", "netns", "add", full])
        self._netns.append(full)
        self.run(["ip", "-n", full, "link", "set", "lo", "up"])
        return full

    def veth(self, ns_a: Optional[str], addr_a: str, ns_b: Optional[str], addr_b: str) -> None:
        """A veth pair between two namespaces (None: this one), addresses in CIDR form."""
        a = f"mga{len(self._links)}{os.getpid() % 10000}"
        b = f"mgb{len(self._links)}{os.getpid() % 10000}"
        self.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b])
        self._links.append(a)
        for dev, ns, addr in ((a, ns_a, addr_a), (b, ns_b, addr_b)):
            if ns:
                self.run(["ip", "link", "set", dev, "netns", ns])
            pre = ["ip", "-n", ns] if ns else ["ip"]
            self.run(pre + ["addr", "add", addr, "dev", dev])
            self.run(pre + ["link", "set", dev, "up"])

    def in_netns(self, ns: str, cmd: Sequence[str], **kw) -> subprocess.CompletedProcess:
        return self.run(["ip", "netns", "exec", ns, *cmd], **kw)

    # -- teardown ------------------------------------------------------------------------------
    def close(self) -> None:
        for p in self._processes:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except OSError:
                    pass
        deadline = time.monotonic() + 5
        for p in self._processes:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
                p.wait(5)
        for s in self._servers:
            s.close()
        for link in self._links:
            subprocess.run(["ip", "link", "del", link], capture_output=True)
        for ns in self._netns:
            subprocess.run(["ip", "netns", "pids", ns], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
