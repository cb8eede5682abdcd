"""A small Kubernetes API client over raw HTTPS (http.client + ssl, JSON) for scripts/e2e-kubernetes:
polling, bulk creates and direct reads, from inside a cluster's network namespace. One
keep-alive connection per thread. kubectl does the labelling the issue asks of it."""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
import urllib.parse
from typing import Optional

from netns import netns


class APIError(Exception):
    def __init__(self, code: int, body: str):
        super().__init__(f"HTTP {code}: {body[:300]}")
        self.code = code


class KubeAPI:
    def __init__(self, ns: Optional[str], server: str, ca: str, token: str):
        u = urllib.parse.urlsplit(server)
        self.ns, self.host, self.port = ns, u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=ca)
        self.token = token
        self._local = threading.local()

    def _conn(self) -> http.client.HTTPSConnection:
        c = getattr(self._local, "conn", None)
        if c is None:
            with netns(self.ns):
                c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=10)
                c.connect()
            self._local.conn = c
        return c

    def _drop(self) -> None:
        c = getattr(self._local, "conn", None)
        if c is not None:
            c.close()
        self._local.conn = None

    def request(self, method: str, path: str, body=None, content_type: str = "application/json") -> tuple[int, dict]:
        """(status, decoded JSON body). A broken keep-alive connection is retried once."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in (0, 1):
            try:
                c = self._conn()
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                raw = r.read()
                try:
                    obj = json.loads(raw) if raw else {}
                except ValueError:
                    obj = {"raw": raw.decode(errors="replace")}
                return r.status, obj
            except (OSError, http.client.HTTPException):
                self._drop()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def must(self, method: str, path: str, body=None, ok=(200, 201), content_type: str = "application/json") -> dict:
        code, obj = self.request(method, path, body, content_type)
        if code not in ok:
            raise APIError(code, json.dumps(obj))
        return obj

    # -- conveniences ---------------------------------------------------------------------------
    def services(self, namespace: Optional[str] = None, selector: Optional[str] = None) -> dict[str, dict]:
        """Services keyed `namespace/name`."""
        path = f"/api/v1/namespaces/{namespace}/services" if namespace else "/api/v1/services"
        if selector:
            path += "?labelSelector=" + urllib.parse.quote(selector)
        items = self.must("GET", path).get("items") or []
        return {f"{i['metadata']['namespace']}/{i['metadata']['name']}": i for i in items}

    def get(self, path: str) -> Optional[dict]:
        code, obj = self.request("GET", path)
        if code == 404:
            return None
        if code != 200:
            raise APIError(code, json.dumps(obj))
        return obj

    def ensure_namespace(self, name: str) -> None:
        code, obj = self.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                                "metadata": {"name": name}})
        if code not in (201, 409):
            raise APIError(code, json.dumps(obj))

    def apply(self, path: str, obj: dict) -> dict:
        """Create, or replace the current object (with its resourceVersion) when it exists."""
        code, got = self.request("POST", path, obj)
        if code == 201:
            return got
        if code != 409:
            raise APIError(code, json.dumps(got))
        name = obj["metadata"]["name"]
        for _ in range(5):
            cur = self.must("GET", f"{path}/{name}")
            new = dict(obj)
            new["metadata"] = {**obj["metadata"], "resourceVersion": cur["metadata"]["resourceVersion"]}
            code, got = self.request("PUT", f"{path}/{name}", new)
            if code == 200:
                return got
            if code != 409:
                raise APIError(code, json.dumps(got))
            time.sleep(0.02)
        raise APIError(409, "conflict five times")


def service(name: str, namespace: str, port: int, labels: Optional[dict] = None, port_name: str = "redis") -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"selector": {"app": name}, "ports": [{"name": port_name, "port": port, "targetPort": port_name}]}}


def endpoint_slice(service_name: str, namespace: str, port: int, endpoints: list[tuple[str, bool]],
                   port_name: str = "redis", name: Optional[str] = None) -> dict:
    """An EndpointSlice of `service_name`: endpoints as (address, ready)."""
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name or f"{service_name}-slice", "namespace": namespace,
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": "IPv4",
            "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": [a], "conditions": {"ready": r, "serving": r, "terminating": False}}
                          for a, r in endpoints]}
