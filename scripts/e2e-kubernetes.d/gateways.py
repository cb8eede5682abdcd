"""The gateways of scripts/e2e-kubernetes. Either the host's `meshgate` binary run in a cluster's
network namespace (reads the API through a kubeconfig), or the image: its root filesystem
(unpacked by scripts/e2e-image.d/unpack.py) in a private mount and PID namespace inside the
cluster's network namespace, as uid/gid 65532 with no_new_privs, the image's entrypoint and
arguments, and what a pod gets: gateway.yaml at /etc/meshgate, the identity at
/var/run/secrets/meshgate, the service-account token/ca.crt/namespace at
/var/run/secrets/kubernetes.io/serviceaccount and KUBERNETES_SERVICE_HOST/PORT (in-cluster)."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from netns import netns

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pylib"))
from gateway_io import GatewayLog, http_get  # noqa: E402

LEASE = {"name": "meshgate-mirror", "namespace": "meshgate-multicluster", "duration": "5s", "retry": "1s"}


class Image:
    """Where gateways come from: `binary` (host mode) or `root` + `entry` (the image)."""

    def __init__(self, binary: Optional[Path] = None, root: Optional[Path] = None, entry: Optional[list[str]] = None):
        self.binary, self.root, self.entry = binary, root, entry or []

    @property
    def in_image(self) -> bool:
        return self.root is not None

    def describe(self) -> str:
        if self.in_image:
            return f"the image's root filesystem ({self.root}, entrypoint {' '.join(self.entry)}), in-cluster config"
        return f"the host binary {self.binary}, kubeconfig"


class Gateway(GatewayLog):
    tail_lines = 8

    def __init__(self, image: Image, work: Path, name: str, cluster: str, kube, user: str, addr: str,
                 admin_port: int, links: Path, mirror: bool, holder: str):
        self.image, self.name, self.cluster, self.kube = image, name, cluster, kube
        self.user, self.addr, self.admin_port, self.links, self.mirror, self.holder = user, addr, admin_port, links, mirror, holder
        self.dir = work / name
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = self.dir / "gateway.log"
        for d in ("config", "state", "sa"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)

    # -- files ----------------------------------------------------------------------------------
    def config_text(self) -> str:
        img = self.image.in_image
        ident = "/var/run/secrets/meshgate" if img else str(self.dir / "identity")
        api = "inCluster: true" if img else f"kubeconfig: {self.kube.kubeconfig(self.user)}"
        text = (
            f"cluster: {self.cluster}\n"
            f"identity:\n  cert: {ident}/tls.crt\n  key: {ident}/tls.key\n  trust: {ident}/ca.crt\n"
            f"inbound:\n  listen: {self.addr}:4143\n"
            f"outbound:\n  bind: {self.addr}\n  ports: 20000-29999\n"
            f"admin:\n  listen: 127.0.0.1:{self.admin_port}\n"
            f"limits:\n  drainTimeout: 2s\n  connectTimeout: 2s\n"
            f"loops: 1\n"
            f"links:\n  dir: {'/var/lib/meshgate/links' if img else self.links}\n"
            f"  probe: {{interval: 1s, timeout: 500ms, failureThreshold: 3}}\n"
            f"  limits: {{services: 5000, routes: 5000, updatesPerSecond: 5000}}\n"
            f"stateDir: {'/var/lib/meshgate/state' if img else self.dir / 'state'}\n"
            f"registry:\n  kubernetes:\n    {api}\n"
        )
        if self.mirror:
            text += (
                "mirror:\n  kubernetes:\n    services: true\n    gatewaySelector: {app: meshgate-gateway}\n"
                f"    lease: {{name: {LEASE['name']}, namespace: {LEASE['namespace']}, duration: {LEASE['duration']}, "
                f"retry: {LEASE['retry']}}}\n"
                f"    holder: {self.holder}\n    writesPerSecond: 200\n"
            )
        return text

    def write_files(self, identity: Path) -> None:
        shutil.copytree(identity, self.dir / "identity", dirs_exist_ok=True)
        (self.dir / "config" / "gateway.yaml").write_text(self.config_text())
        sa = self.dir / "sa"
        (sa / "token").write_text(self.kube.token(self.user))
        shutil.copy(self.kube.work / "ca.crt", sa / "ca.crt")
        (sa / "namespace").write_text(LEASE["namespace"])
        if self.image.in_image:
            for d in ("identity", "config", "state", "sa"):
                subprocess.run(["chown", "-R", "65532:65532", str(self.dir / d)], check=True)
            subprocess.run(["chmod", "-R", "a+rX", str(self.links)], check=True)
            for p in (self.dir, self.dir.parent):
                os.chmod(p, 0o755)

    @property
    def config(self) -> Path:
        return self.dir / "config" / "gateway.yaml"

    # -- process --------------------------------------------------------------------------------
    def _rootfs_script(self) -> str:
        root, mnt, d = self.image.root, self.dir / "mnt", self.dir
        env = (f"KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT={self.kube.port} "
               f"POD_NAME={self.holder} POD_NAMESPACE={LEASE['namespace']}")
        return f"""set -e
mnt="{mnt}"
mkdir -p "$mnt"
mount --bind "{root}" "$mnt"
mount -o remount,bind,ro "$mnt"
mount -t proc -o nosuid,nodev,noexec proc "$mnt/proc"
mount -t tmpfs -o nosuid,noexec,mode=755,size=64k tmpfs "$mnt/dev"
for f in null zero random urandom; do touch "$mnt/dev/$f"; mount --bind "/dev/$f" "$mnt/dev/$f"; done
mount -t tmpfs -o nosuid,nodev,mode=1777,size=16m tmpfs "$mnt/tmp"
mount -t tmpfs -o nosuid,nodev,mode=755,size=64k tmpfs "$mnt/var/run/secrets"
mkdir -p "$mnt/var/run/secrets/meshgate" "$mnt/var/run/secrets/kubernetes.io/serviceaccount"
mount --bind -o ro "{d}/identity" "$mnt/var/run/secrets/meshgate"
mount --bind -o ro "{d}/sa" "$mnt/var/run/secrets/kubernetes.io/serviceaccount"
mount --bind -o ro "{d}/config" "$mnt/etc/meshgate"
mount --bind -o ro "{self.links}" "$mnt/var/lib/meshgate/links"
mount --bind "{d}/state" "$mnt/var/lib/meshgate/state"
exec env -i {env} /usr/bin/setpriv --no-new-privs /usr/bin/unshare --root="$mnt" --wd=/ --setuid 65532 --setgid 65532 -- {' '.join(self.image.entry)}
"""

    def start(self, timeout: float = 30.0) -> "Gateway":
        log = open(self.log_path, "ab")
        ns = self.kube.ns
        if self.image.in_image:
            script = self.dir / "run.sh"
            script.write_text(self._rootfs_script())
            cmd = ["ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private", "--pid", "--fork",
                   "--kill-child", "--", "bash", str(script)]
        else:
            cmd = ["ip", "netns", "exec", ns, str(self.image.binary), "gateway", "--config", str(self.config)]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway {self.name} exited {self.proc.returncode}: {self.log_tail()}")
            if self.get("/ready")[0] == 200:
                return self
            time.sleep(0.2)
        raise RuntimeError(f"gateway {self.name} not ready within {timeout:g}s: {self.log_tail()}")

    def gateway_pid(self) -> Optional[int]:
        """The meshgate process itself (in the image mode, the child of unshare's child)."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        todo = [self.proc.pid]
        while todo:
            p = todo.pop(0)
            try:
                if Path(f"/proc/{p}/comm").read_text().strip() == "meshgate":
                    return p
                todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
            except OSError:
                pass
        return None

    def kill9(self) -> None:
        p = self.gateway_pid()
        if p:
            os.kill(p, signal.SIGKILL)
        if self.proc:
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        p = self.gateway_pid()
        try:
            os.kill(p or self.proc.pid, signal.SIGTERM)
            self.proc.wait(8)
        except (OSError, subprocess.TimeoutExpired, TypeError):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait(5)

    # -- admin ----------------------------------------------------------------------------------
    def get(self, path: str, timeout: float = 3.0) -> tuple[int, str]:
        try:
            with netns(self.kube.ns):
                c = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=timeout)
                c.connect()
        except (OSError, http.client.HTTPException) as e:
            return 0, str(e)
        return http_get(c, path)

    def status(self) -> dict:
        code, body = self.get("/status")
        if code != 200:
            raise RuntimeError(f"{self.name} /status: {code} {body[:200]}")
        return json.loads(body)

    def metric(self, name: str) -> Optional[float]:
        code, body = self.get("/metrics")
        if code != 200:
            return None
        for line in body.splitlines():
            m = re.match(rf"^{re.escape(name)}(\{{[^}}]*\}})?\s+(\S+)", line)
            if m:
                return float(m.group(2))
        return None

    def route_port(self, key: str) -> Optional[int]:
        for r in self.status().get("routes", []):
            if r.get("key") == key:
                return int(r["listen"].rsplit(":", 1)[1])
        return None

    def cli(self, *args: str, binary: Path) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.kube.ns, str(binary), *args,
                               "--admin", f"127.0.0.1:{self.admin_port}"], capture_output=True, text=True, timeout=15)
