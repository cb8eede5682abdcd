"""The two clusters of scripts/e2e-kubernetes and everything in them.

  mgk-east  10.78.0.1 (gateway east-a), 10.78.0.3 (gateway east-b, started by the Lease check)
            etcd + the test API server on its loopback
  mgk-west  10.78.0.2 (gateway west); redis at 10.78.1.11:6379 and 10.78.1.12:6379 (two "pod
            IPs" on its loopback, the endpoints of Service default/redis)
            etcd + the test API server on its loopback

A veth joins the two. Each gateway reads its own cluster's API (registry.kubernetes); east's
also writes the mirrored Services (mirror.kubernetes, Lease meshgate-multicluster/meshgate-mirror).
east links west with west's bundle (`meshgate link`, `meshgate link add`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import netns as nsmod
from clusters import KubeCluster
from gateways import LEASE, Gateway, Image
from kapi import endpoint_slice, service

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "adversarial"))
from harness import PKI, Harness  # noqa: E402

EAST, WEST = "mgk-east", "mgk-west"
ADDR = {"east-a": "10.78.0.1", "east-b": "10.78.0.3", "west": "10.78.0.2"}
REDIS = ["10.78.1.11", "10.78.1.12"]
EXPORTED = "mirror.linkerd.io/exported"


class Env:
    def __init__(self, work: Path, image: Image, mg_bin: Path, say):
        self.work, self.image, self.bin, self.say = work, image, mg_bin, say
        self.east: Optional[KubeCluster] = None
        self.west: Optional[KubeCluster] = None
        self.gateways: dict[str, Gateway] = {}
        self.redis: list[subprocess.Popen] = []
        self.links = work / "east-links"  # the links folder east's replicas share (a ConfigMap volume)
        self.h = Harness(mg_bin, work, None)

    # -- setup ----------------------------------------------------------------------------------
    def setup(self) -> None:
        t0 = time.monotonic()
        nsmod.create(EAST)
        nsmod.create(WEST)
        nsmod.veth(EAST, "eth0", [f"{ADDR['east-a']}/24", f"{ADDR['east-b']}/24"], WEST, "eth0", [f"{ADDR['west']}/24"])
        for a in REDIS:
            nsmod.add_address(WEST, "lo", f"{a}/32")
        self.east = KubeCluster("east", EAST, self.work / "kube-east", ["east-a", "east-b"]).start()
        self.west = KubeCluster("west", WEST, self.work / "kube-west", ["west"]).start()
        for k in (self.east, self.west):
            for n in (LEASE["namespace"], "bulk"):
                k.api().ensure_namespace(n)
        self.say(f"etcd + API server: east {self.east.url}, west {self.west.url} ({time.monotonic() - t0:.1f} s)")

        for a in REDIS:
            log = open(self.work / f"redis-{a}.log", "wb")
            self.redis.append(subprocess.Popen(
                ["ip", "netns", "exec", WEST, "redis-server", "--bind", a, "--port", "6379", "--save", "",
                 "--appendonly", "no", "--protected-mode", "no", "--dir", str(self.work)], stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True))
            log.close()
        # west's workloads, applied with kubectl: redis (two endpoints), cache and queue (one each)
        objs = [service("redis", "default", 6379), endpoint_slice("redis", "default", 6379, [(a, True) for a in REDIS])]
        for name in ("cache", "queue"):
            objs += [service(name, "default", 6379), endpoint_slice(name, "default", 6379, [(REDIS[0], True)])]
        manifest = self.work / "west-workloads.json"
        manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}, indent=1))
        self.west.kubectl("apply", "-f", str(manifest))

        pki = PKI(self.h)
        self.links.mkdir(parents=True, exist_ok=True)
        (self.work / "west-links").mkdir(exist_ok=True)
        ids = {c: pki.gateway(c) for c in ("east", "west")}
        self.gateways = {
            "west": Gateway(self.image, self.work, "west", "west", self.west, "west", ADDR["west"], 4191,
                            self.work / "west-links", False, "west"),
            "east-a": Gateway(self.image, self.work, "east-a", "east", self.east, "east-a", ADDR["east-a"], 4191,
                              self.links, True, "east-a"),
            "east-b": Gateway(self.image, self.work, "east-b", "east", self.east, "east-b", ADDR["east-b"], 4192,
                              self.links, True, "east-b"),
        }
        for name, g in self.gateways.items():
            g.write_files(ids[g.cluster])
            # the same config with host paths, for the host's `meshgate link` / `--check`
            host = Gateway(Image(binary=self.bin), self.work, name, g.cluster, g.kube, g.user, g.addr,
                           g.admin_port, g.links, g.mirror, g.holder)
            (g.dir / "host.yaml").write_text(host.config_text())
        check = self.h.run([str(self.bin), "gateway", "--check", "--config", str(self.gateways["east-a"].dir / "host.yaml")],
                           check=False)
        if check.returncode != 0:
            raise RuntimeError(f"meshgate gateway --check refuses east's gateway.yaml: {(check.stderr or check.stdout).strip()[:400]}")
        bundle = self.work / "west.link.yaml"
        bundle.write_text(self.h.meshgate("link", "--config", str(self.gateways["west"].dir / "host.yaml"),
                                          "--address", f"{ADDR['west']}:4143"))
        self.h.meshgate("link", "add", str(bundle), "--config", str(self.gateways["east-a"].dir / "host.yaml"))
        if self.image.in_image:
            subprocess.run(["chmod", "-R", "a+rX", str(self.links)], check=True)
        self.gateways["west"].start()
        self.gateways["east-a"].start()
        self.say(f"gateways west and east-a ready ({time.monotonic() - t0:.1f} s since the start of the setup)")

    def set_redis_endpoints(self, ready: list[bool]) -> None:
        self.west.api().apply("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
                              endpoint_slice("redis", "default", 6379, list(zip(REDIS, ready))))

    # -- teardown -------------------------------------------------------------------------------
    def close(self) -> None:
        for g in self.gateways.values():
            try:
                g.stop()
            except Exception:  # noqa: BLE001 - teardown goes on
                pass
        for p in self.redis:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        for k in (self.east, self.west):
            if k is not None:
                k.stop()
        self.h.close()
        for n in (EAST, WEST):
            nsmod.delete(n)

    def remove(self, keep_work: bool = False) -> None:
        """Removes etcd's data dirs (on /dev/shm) and, unless `keep_work`, the clusters' dirs."""
        for k in (self.east, self.west):
            if k is not None and k.c is not None:
                shutil.rmtree(k.c.etcd_data, ignore_errors=True)
                if not keep_work:
                    k.remove()
