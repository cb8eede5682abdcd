"""The later checks of scripts/e2e-kubernetes: 1,000 exported services, two east replicas and the
Lease, `meshgate link remove`."""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timezone

from checks import WEST_MIRRORED, Checks, Fail, expect, wait
from gateways import LEASE
from kapi import endpoint_slice, service
from topology import ADDR, EAST, EXPORTED, REDIS
import traffic

BULK = 1000
LEASE_PATH = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE['namespace']}/leases/{LEASE['name']}"


def _micro(ts: str) -> float:
    return datetime.strptime(ts.rstrip("Z")[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()


class ScaleChecks(Checks):
    # -- 7. 1,000 exported services ------------------------------------------------------------
    def services_1000(self) -> str:
        w, e = self.w.api(), self.e.api()
        since = len(self.e.log_lines())
        errors: list[str] = []

        # In a shuffled order (fixed seed): east-a learns the routes in an order unlike the key
        # order a replica started later gets them in, so port collisions settle differently
        # unless the replicas adopt the written Services' ports (checked in lease_failover).
        order = list(range(BULK))
        random.Random(20261206).shuffle(order)

        def create(part: int):
            for i in order[part::4]:
                name = f"svc-{i:04d}"
                try:
                    w.apply("/apis/discovery.k8s.io/v1/namespaces/bulk/endpointslices",
                            endpoint_slice(name, "bulk", 6379, [(REDIS[0], True)]))
                    w.apply("/api/v1/namespaces/bulk/services", service(name, "bulk", 6379, {EXPORTED: "true"}))
                except Exception as ex:  # noqa: BLE001
                    errors.append(f"{name}: {ex}")

        t0 = time.monotonic()
        ts = [threading.Thread(target=create, args=(p,)) for p in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        t_created = time.monotonic() - t0
        expect(not errors, f"creating the services in west: {errors[:2]}")
        count = {"n": 0}

        def converged():
            count["n"] = len(e.services("bulk", WEST_MIRRORED))
            return count["n"] == BULK
        wait(converged, 150, f"east has {BULK} bulk/*-west Services (last count {count['n']})", 0.5)
        took = time.monotonic() - t0
        time.sleep(2)  # anything still to come (a storm) shows in the log
        writes = self.e.writes(since, path_part="/namespaces/bulk/services")
        by_user: dict[str, int] = {}
        for line in writes:
            by_user[line.split()[1]] = by_user.get(line.split()[1], 0) + 1
        bad = [s for s in e.services("bulk", WEST_MIRRORED).values() if self.owned_ok(s, 6379, "redis")]
        expect(not bad, f"{len(bad)} mirrored Services not as expected, e.g. {bad[0]['metadata']['name'] if bad else ''}")
        expect(len(writes) <= BULK, f"{len(writes)} API writes for {BULK} changes: {writes[:3]}")
        ms = self.a.status().get("mirrorServices") or {}
        return (f"{BULK} Services + EndpointSlices created in west in {t_created:.1f} s; east converged "
                f"{took:.1f} s after the first create; {len(writes)} API writes on east's Services for {BULK} changes "
                f"({', '.join(f'{u}: {n}' for u, n in sorted(by_user.items()))}); /status mirrorServices desired "
                f"{ms.get('desired')}, written {ms.get('written')}, writes {ms.get('writes')}")

    # -- 8. two east replicas, one Lease holder ------------------------------------------------
    def lease_failover(self) -> str:
        e = self.e.api()
        b = self.env.gateways["east-b"]
        b.start(timeout=60)
        want = len(self.a.status().get("routes", []))
        wait(lambda: len(b.status().get("routes", [])) >= want, 60, f"east-b has east-a's {want} routes", 0.5)
        # Every replica listens where the Services send traffic: east-b adopts the ports of the
        # Services east-a wrote, whatever order it learned the routes in.
        agree = {"same": 0}

        def ports_agree() -> bool:
            ports_a = {r["key"]: r.get("listen", "").rsplit(":", 1)[-1] for r in self.a.status().get("routes", [])}
            ports_b = {r["key"]: r.get("listen", "").rsplit(":", 1)[-1] for r in b.status().get("routes", [])}
            agree["same"] = sum(1 for k, v in ports_a.items() if ports_b.get(k) == v)
            return agree["same"] == len(ports_a)
        try:
            wait(ports_agree, 20, "east-b's routes on east-a's ports", 0.5)
        except Fail as e:
            raise Fail(f"{e}: {agree['same']} of {want} agree") from None
        same = agree["same"]
        wait(lambda: (lambda x: x and not self.owned_ok(x))(self.mirrored("redis-west")), 15, "east's own redis-west")
        tp = self.target_port()
        traffic.set_get(EAST, ADDR["east-b"], tp, "e2e:east-b", 102400)  # the follower serves the route too
        lease = e.get(LEASE_PATH)
        expect(lease and lease["spec"].get("holderIdentity") == "east-a", f"Lease before: {lease and lease['spec']}")
        expect((b.status().get("mirrorServices") or {}).get("leader") is False, "east-b says it leads")
        # a change while both run: only the holder writes
        since = len(self.e.log_lines())
        self.w.api().apply("/api/v1/namespaces/default/services", service("failover1", "default", 6379, {EXPORTED: "true"}))
        self.w.api().apply("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
                           endpoint_slice("failover1", "default", 6379, [(REDIS[0], True)]))
        wait(lambda: self.mirrored("failover1-west"), 5, "failover1-west")
        time.sleep(1)
        users = sorted({line.split()[1] for line in self.e.writes(since)})
        expect(users == ["east-a"], f"Service writers while both ran: {users}")
        before = {k: s["metadata"]["resourceVersion"] for k, s in e.services(selector=WEST_MIRRORED).items()}
        renew_before = _micro(e.get(LEASE_PATH)["spec"]["renewTime"])
        since = len(self.e.log_lines())
        t_kill = time.monotonic()
        self.a.kill9()
        lease = wait(lambda: (lambda x: x if x and x["spec"].get("holderIdentity") == "east-b" else None)(e.get(LEASE_PATH)),
                     15, "east-b holds the Lease", 0.05)
        took = time.monotonic() - t_kill
        acquired = _micro(lease["spec"].get("acquireTime") or lease["spec"]["renewTime"])
        time.sleep(3)
        after = {k: s["metadata"]["resourceVersion"] for k, s in e.services(selector=WEST_MIRRORED).items()}
        traffic.set_get(EAST, ADDR["east-b"], tp, "e2e:east-b", 102400)
        changed = [k for k in before if after.get(k) != before[k]]
        extra = sorted(set(after) - set(before))
        writes_b = self.e.writes(since)
        expect(took <= 5.5, f"east-b took the Lease {took:.2f} s after the kill (lease duration 5 s)")
        expect(not changed and not extra, f"Services changed by the takeover: {changed[:3]} new {extra[:3]}; writes {writes_b[:3]}")
        # the new holder writes
        since = len(self.e.log_lines())
        self.label("failover1", False)
        wait(lambda: self.mirrored("failover1-west") is None, 5, "failover1-west deleted by the new holder")
        users = sorted({line.split()[1] for line in self.e.writes(since)})
        expect(users == ["east-b"], f"Service writers after the takeover: {users}")
        return (f"east-b ({want} routes, {same} on the same port as east-a's, follower; a 100 KB SET/GET through {ADDR['east-b']}:{tp} before and after the kill) wrote nothing while east-a held the Lease; kill -9 east-a -> east-b "
                f"held the Lease {took:.2f} s later ({acquired - renew_before:.2f} s after east-a's last renewTime; "
                f"duration 5 s, transitions {lease['spec'].get('leaseTransitions')}); all {len(before)} mirrored "
                f"Services kept their resourceVersions ({len(writes_b)} Service writes); the next change was written by east-b")

    # -- 9. link remove --------------------------------------------------------------------------
    def link_remove(self) -> str:
        b = self.env.gateways["east-b"]
        g = b if b.proc is not None and b.proc.poll() is None else self.a
        n = len(self.e.api().services(selector=WEST_MIRRORED))
        expect(n > 0, "east has no mirrored Services of west to remove")
        since = len(self.e.log_lines())
        t0 = time.monotonic()
        self.env.h.meshgate("link", "remove", "west", "--config", str(g.dir / "host.yaml"))
        count = {"n": n}

        def gone():
            count["n"] = len(self.e.api().services(selector=WEST_MIRRORED))
            return count["n"] == 0
        wait(gone, 60, f"every west Service deleted from east (left: {count['n']})", 0.2)
        took = time.monotonic() - t0
        deletes = [x for x in self.e.writes(since) if x.split()[2] == "DELETE"]
        return (f"meshgate link remove west -> all {n} of west's mirrored Services deleted from east in {took:.1f} s "
                f"({len(deletes)} DELETEs, writesPerSecond 200)")


ORDER = ["label_mirrors", "unlabel_deletes", "traffic", "endpointslice_churn", "apiserver_down", "compaction",
         "foreign_service", "services_1000", "lease_failover", "link_remove"]
TIMEOUTS = {"services_1000": 200, "lease_failover": 120, "apiserver_down": 90, "foreign_service": 80, "link_remove": 70}
__all__ = ["ScaleChecks", "ORDER", "TIMEOUTS", "Fail"]
