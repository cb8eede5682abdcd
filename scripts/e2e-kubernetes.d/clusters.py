"""One test cluster of scripts/e2e-kubernetes: a network namespace holding a real etcd and the test
API server (scripts/apiserver/cluster.py, started from inside the namespace so both listen on its
loopback), extra token users (one per gateway replica, so the request log tells who wrote), kubectl
and raw-HTTPS access from inside the namespace, a second API server instance on the same etcd
(what another replica of the API server would be), and etcd compaction."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Optional

from kapi import KubeAPI
from netns import netns

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "apiserver"))
import cluster as cluster_mod  # noqa: E402

KUBECTL = os.environ.get("MESHGATE_KUBECTL", str(Path.home() / ".cache/meshgate-kubectl/kubectl"))


class KubeCluster:
    def __init__(self, name: str, ns: str, work: Path, users: list[str]):
        self.name, self.ns, self.work = name, ns, work
        self.users = users
        self.c: Optional[cluster_mod.Cluster] = None
        self._apis: dict[str, KubeAPI] = {}

    def start(self) -> "KubeCluster":
        extra = {u: (f"{u}-token-{os.urandom(8).hex()}", "*", "*") for u in self.users}
        saved = cluster_mod.TOKENS
        cluster_mod.TOKENS = {**saved, **extra}
        try:
            with netns(self.ns):
                self.c = cluster_mod.Cluster(self.work).start()
        finally:
            cluster_mod.TOKENS = saved
        self.info = json.loads((self.work / "cluster.json").read_text())
        return self

    @property
    def url(self) -> str:
        return self.c.url

    @property
    def port(self) -> int:
        return self.c.api_port

    def token(self, user: str) -> str:
        return self.info["tokens"][user]

    def kubeconfig(self, user: str = "admin") -> Path:
        return self.work / f"kubeconfig-{user}"

    def api(self, user: str = "admin") -> KubeAPI:
        if user not in self._apis:
            self._apis[user] = KubeAPI(self.ns, self.c.url, str(self.work / "ca.crt"), self.token(user))
        return self._apis[user]

    def kubectl(self, *args: str, timeout: float = 20, check: bool = True) -> subprocess.CompletedProcess:
        cmd = ["ip", "netns", "exec", self.ns, KUBECTL, "--kubeconfig", str(self.kubeconfig()),
               "--cache-dir", str(self.work / "kubectl-cache"), *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} ({self.name}): exit {r.returncode}: {r.stderr.strip()[:300]}")
        return r

    # -- the API server going away and coming back ----------------------------------------------
    def stop_apiserver(self) -> None:
        self.c.stop_apiserver()
        for a in self._apis.values():
            a._drop()

    def kill_apiserver(self) -> None:
        """SIGKILL to the server (etcd keeps the objects); start_apiserver() brings it back."""
        p = self.c.api_proc
        if p is not None and p.poll() is None:
            p.kill()
            p.wait(5)
        self.c.api_proc = None
        for a in self._apis.values():
            a._drop()

    def start_apiserver(self) -> None:
        with netns(self.ns):
            self.c.start_apiserver()

    def second_apiserver(self) -> "SecondServer":
        """Another API server process on the same etcd (another port), like a second replica."""
        return SecondServer(self)

    # -- etcd -----------------------------------------------------------------------------------
    def etcd(self, path: str, body: dict) -> dict:
        with netns(self.ns):
            req = urllib.request.Request(self.c.etcd_url + path, data=json.dumps(body).encode(), method="POST")
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())

    def compact(self) -> int:
        """Compacts etcd at its current revision; returns it."""
        rev = int(self.etcd("/v3/kv/range", {"key": "AA=="})["header"]["revision"])
        self.etcd("/v3/kv/compaction", {"revision": str(rev), "physical": True})
        return rev

    # -- the request log ------------------------------------------------------------------------
    def log_lines(self) -> list[str]:
        try:
            return (self.work / "apiserver.log").read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def writes(self, since: int = 0, user: Optional[str] = None, path_part: str = "/services") -> list[str]:
        """Write requests (POST/PUT/PATCH/DELETE) on paths containing `path_part` logged after line
        `since`, by `user` (None: any): the lines. A log line: `HH:MM:SS user METHOD path status ms`."""
        out = []
        for line in self.log_lines()[since:]:
            f = line.split()
            if len(f) < 5 or f[2] not in ("POST", "PUT", "PATCH", "DELETE"):
                continue
            path = f[3].split("?")[0]
            if path_part in path and (user is None or f[1] == user):
                out.append(line)
        return out

    def stop(self) -> None:
        if self.c is not None:
            self.c.stop()

    def remove(self) -> None:
        if self.c is not None:
            self.c.remove()


class SecondServer:
    def __init__(self, k: KubeCluster):
        self.k = k
        self.proc: Optional[subprocess.Popen] = None

    def __enter__(self) -> KubeAPI:
        w = self.k.work
        pf = w / "apiserver2.port"
        pf.unlink(missing_ok=True)
        log = open(w / "apiserver2.stderr", "ab")
        with netns(self.k.ns):
            self.proc = subprocess.Popen(
                ["python3", str(ROOT / "scripts/apiserver/apiserver"), "--etcd", self.k.c.etcd_url,
                 "--listen", "127.0.0.1:0", "--tls-cert", str(w / "server.crt"), "--tls-key", str(w / "server.key"),
                 "--token-file", str(w / "tokens.csv"), "--port-file", str(pf), "--log", str(w / "apiserver2.log")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 15
        while not pf.exists():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the second API server did not start")
            time.sleep(0.05)
        port = int(pf.read_text().strip())
        return KubeAPI(self.k.ns, f"https://127.0.0.1:{port}", str(w / "ca.crt"), self.k.token("admin"))

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
