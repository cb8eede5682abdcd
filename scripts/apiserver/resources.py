"""The resources the test API server serves, their discovery documents, defaults and table columns."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

VERSION = {
    "major": "1", "minor": "21", "gitVersion": "v1.21.0-meshgate-test", "gitCommit": "", "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z", "goVersion": "python", "compiler": "python", "platform": "linux/amd64",
}

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    group: str            # "" for core
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple = ()
    categories: tuple = ()
    columns: tuple = field(default=())  # extra table columns: (name, type, function(obj) -> value)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    def key_prefix(self, namespace: str | None = None) -> bytes:
        base = f"/registry/{self.group or 'core'}/{self.plural}/"
        if self.namespaced and namespace:
            base += namespace + "/"
        return base.encode()

    def key(self, namespace: str | None, name: str) -> bytes:
        return self.key_prefix(namespace if self.namespaced else None) + name.encode()

    def discovery(self) -> dict:
        d = {"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
             "kind": self.kind, "verbs": ALL_VERBS}
        if self.short_names:
            d["shortNames"] = list(self.short_names)
        if self.categories:
            d["categories"] = list(self.categories)
        return d


def _ports(obj):
    ports = obj.get("spec", {}).get("ports") or []
    out = []
    for p in ports:
        s = str(p.get("port"))
        if p.get("nodePort"):
            s += f":{p['nodePort']}"
        out.append(f"{s}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _external(obj):
    ips = obj.get("spec", {}).get("externalIPs") or []
    return ",".join(ips) or "<none>"


def _slice_endpoints(obj):
    addrs = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    return ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "") or "<unset>"


def _slice_ports(obj):
    return ",".join(str(p.get("port")) for p in obj.get("ports") or []) or "<unset>"


RESOURCES = [
    Resource("", "v1", "namespaces", "Namespace", False, ("ns",),
             columns=(("Status", "string", lambda o: o.get("status", {}).get("phase", "Active")),)),
    Resource("", "v1", "services", "Service", True, ("svc",), ("all",),
             columns=(("Type", "string", lambda o: o.get("spec", {}).get("type", "ClusterIP")),
                      ("Cluster-IP", "string", lambda o: o.get("spec", {}).get("clusterIP", "<none>")),
                      ("External-IP", "string", _external),
                      ("Port(s)", "string", _ports))),
    Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True,
             columns=(("AddressType", "string", lambda o: o.get("addressType", "")),
                      ("Ports", "string", _slice_ports),
                      ("Endpoints", "string", _slice_endpoints))),
    Resource("coordination.k8s.io", "v1", "leases", "Lease", True,
             columns=(("Holder", "string", lambda o: o.get("spec", {}).get("holderIdentity", "")),)),
    Resource("multicluster.x-k8s.io", "v1alpha1", "serviceexports", "ServiceExport", True),
]

BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
NAMESPACES = BY_PATH[("", "v1", "namespaces")]


def groups() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in RESOURCES:
        if r.group and r.version not in out.setdefault(r.group, []):
            out[r.group].append(r.version)
    return out


def api_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group(group: str) -> dict:
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in groups()[group]]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": versions,
            "preferredVersion": versions[0]}


def api_group_list() -> dict:
    items = []
    for g in groups():
        d = api_group(g)
        del d["kind"], d["apiVersion"]
        items.append(d)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": items}


def resource_list(group: str, version: str) -> dict | None:
    rs = [r.discovery() for r in RESOURCES if r.group == group and r.version == version]
    if not rs:
        return None
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": rs}


def apply_defaults(res: Resource, obj: dict, old: dict | None) -> str | None:
    """Fills the defaults the real API server fills (the subset below). Returns an error message
    for an invalid change of an immutable field."""
    if res.kind == "Service":
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        for p in spec.get("ports") or []:
            p.setdefault("protocol", "TCP")
            p.setdefault("targetPort", p.get("port"))
        old_ip = (old or {}).get("spec", {}).get("clusterIP")
        if old is not None and old_ip:
            if not spec.get("clusterIP"):
                spec["clusterIP"] = old_ip
            elif spec["clusterIP"] != old_ip:
                return "spec.clusterIP: Invalid value: field is immutable"
        if not spec.get("clusterIP") and spec["type"] != "ExternalName":
            spec["clusterIP"] = f"10.96.{random.randint(0, 255)}.{random.randint(1, 254)}"
        if spec.get("clusterIP") and "clusterIPs" not in spec:
            spec["clusterIPs"] = [spec["clusterIP"]]
    elif res.kind == "EndpointSlice":
        for p in obj.get("ports") or []:
            p.setdefault("protocol", "TCP")
    elif res.kind == "Namespace":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
        obj.setdefault("metadata", {}).setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    return None
