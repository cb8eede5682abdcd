"""A test cluster on loopback: a real etcd (temp data dir), certificates made with the openssl
CLI, a token file and the test API server, plus a kubeconfig per user. Used by
scripts/e2e-apiserver and by `scripts/apiserver/cluster` (the same thing as a command)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOKENS = {  # user: (token, verbs, resources)
    "admin": ("admin-token-0123456789", "*", "*"),
    "viewer": ("viewer-token-0123456789", "get;list;watch", "*"),
}


def _die_with_parent():
    """In the child: SIGTERM when the process that started it dies, even by SIGKILL (Linux).
    Linux sends it when the *thread* that forked exits: only used from the main thread."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _pdeathsig():
    return _die_with_parent if threading.current_thread() is threading.main_thread() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certs(d: Path) -> None:
    """A CA and a server certificate for 127.0.0.1/localhost/kubernetes.default.svc (EC P-256)."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
        "-subj", "/CN=meshgate-test-apiserver-ca", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"))
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=kube-apiserver",
        "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"))
    (d / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n"
        "extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n")
    run("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.crt"), "-CAkey", str(d / "ca.key"),
        "-CAcreateserial", "-days", "2", "-extfile", str(d / "server.ext"), "-out", str(d / "server.crt"))


def kubeconfig(server: str, ca: Path, user: str, token: str) -> str:
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": user,
        "clusters": [{"name": "test", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": "test", "user": user, "namespace": "default"}}],
    }, indent=1)


class Cluster:
    def __init__(self, work: Path, progress_interval: str = "1s", tmpfs: bool = True):
        """tmpfs: etcd's data dir on /dev/shm when there is one (etcd 3.4 fsyncs every write:
        ~40 ms on this machine's disk, ~0.5 ms on tmpfs)."""
        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        shm = Path("/dev/shm")
        if tmpfs and shm.is_dir() and os.access(shm, os.W_OK):
            self.etcd_data = Path(tempfile.mkdtemp(prefix="meshgate-etcd-", dir=shm))
        else:
            self.etcd_data = self.work / "etcd-data"
        self.etcd_proc: subprocess.Popen | None = None
        self.api_proc: subprocess.Popen | None = None
        self.progress_interval = progress_interval
        self.etcd_url = ""
        self.url = ""
        self.api_port = 0

    @property
    def procs(self) -> list[subprocess.Popen]:
        return [p for p in (self.etcd_proc, self.api_proc) if p is not None]

    def start(self, timeout: float = 20.0) -> "Cluster":
        w = self.work
        make_certs(w)
        (w / "tokens.csv").write_text("".join(f"{t},{u},{v},{r}\n" for u, (t, v, r) in TOKENS.items()))
        self.start_etcd(timeout)
        self.start_apiserver(timeout)
        for user, (token, _, _) in TOKENS.items():
            (w / f"kubeconfig-{user}").write_text(kubeconfig(self.url, w / "ca.crt", user, token))
        (w / "cluster.json").write_text(json.dumps({
            "server": self.url, "etcd": self.etcd_url, "ca": str(w / "ca.crt"),
            "tokens": {u: t for u, (t, _, _) in TOKENS.items()},
            "kubeconfigs": {u: str(w / f"kubeconfig-{u}") for u in TOKENS},
            "etcd_data": str(self.etcd_data),
            "pids": {"etcd": self.etcd_proc.pid, "apiserver": self.api_proc.pid},
        }, indent=1))
        return self

    def start_etcd(self, timeout: float):
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        log = open(self.work / "etcd.log", "wb")
        self.etcd_proc = subprocess.Popen([
            "etcd", "--name", "test", "--data-dir", str(self.etcd_data),
            "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"test=http://127.0.0.1:{peer}",
            "--experimental-watch-progress-notify-interval", self.progress_interval,
            "--log-level", "warn"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_pdeathsig())
        log.close()
        self._wait(lambda: _http_ok(f"{self.etcd_url}/health"), timeout, "etcd")

    def start_apiserver(self, timeout: float = 20.0):
        """(Re)starts the server, on the same port as before if it ran already."""
        w = self.work
        port_file = w / "apiserver.port"
        port_file.unlink(missing_ok=True)
        log = open(w / "apiserver.stderr", "ab")
        self.api_proc = subprocess.Popen([
            "python3", str(HERE / "apiserver"), "--etcd", self.etcd_url, "--listen", f"127.0.0.1:{self.api_port}",
            "--tls-cert", str(w / "server.crt"), "--tls-key", str(w / "server.key"),
            "--token-file", str(w / "tokens.csv"), "--port-file", str(port_file),
            "--log", str(w / "apiserver.log")], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_pdeathsig())
        log.close()
        self._wait(port_file.exists, timeout, "apiserver")
        self.api_port = int(port_file.read_text().strip())
        self.url = f"https://127.0.0.1:{self.api_port}"

    def stop_apiserver(self):
        """Stops the server only (etcd keeps the objects); start_apiserver() brings it back."""
        _terminate(self.api_proc)
        self.api_proc = None

    def _wait(self, ready, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if any(p.poll() is not None for p in self.procs):
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{what} did not start (see {self.work})")

    def stop(self):
        _terminate(self.api_proc)
        _terminate(self.etcd_proc)
        self.api_proc = self.etcd_proc = None

    def remove(self):
        self.stop()
        shutil.rmtree(self.etcd_data, ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)


def _terminate(p: subprocess.Popen | None):
    if p is None or p.poll() is not None:
        return
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)


def _http_ok(url: str) -> bool:
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False
