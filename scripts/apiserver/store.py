"""Object semantics over etcd: create, get, list, update, patch, delete, and the watch event
stream, with resourceVersion = etcd revision (an object's mod_revision; a list's store revision)."""

from __future__ import annotations

import copy
import json
import re
import uuid
from datetime import datetime, timezone

import patch as patches
from etcd import Compacted, Etcd
from resources import NAMESPACES, RESOURCES, Resource, apply_defaults


class ApiError(Exception):
    """Becomes a Status body."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def status(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure" if code >= 300 else "Success",
         "message": message, "reason": reason, "code": code}
    if details:
        s["details"] = details
    return s


def not_found(res: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{res.plural}{"." + res.group if res.group else ""} "{name}" not found',
                    {"name": name, "group": res.group, "kind": res.plural})


def conflict(res: Resource, name: str) -> ApiError:
    return ApiError(409, "Conflict",
                    f'Operation cannot be fulfilled on {res.plural}{"." + res.group if res.group else ""} "{name}": '
                    "the object has been modified; please apply your changes to the latest version and try again",
                    {"name": name, "group": res.group, "kind": res.plural})


def invalid(res: Resource, name: str, message: str) -> ApiError:
    return ApiError(422, "Invalid", f'{res.kind} "{name}" is invalid: {message}',
                    {"name": name, "group": res.group, "kind": res.kind})


def encode(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def decode(value: bytes, mod_revision: int) -> dict:
    obj = json.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(mod_revision)
    return obj


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def _spec_part(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}


class Store:
    def __init__(self, etcd: Etcd):
        self.etcd = etcd

    # -- reads -----------------------------------------------------------------------------
    def get(self, res: Resource, ns: str | None, name: str) -> dict:
        kv, _ = self.etcd.get(res.key(ns, name))
        if kv is None:
            raise not_found(res, name)
        return decode(kv.value, kv.mod_revision)

    def list(self, res: Resource, ns: str | None, match, revision: int = 0) -> tuple[list[dict], int]:
        try:
            kvs, rev = self.etcd.list_prefix(res.key_prefix(ns), revision)
        except Compacted as e:
            raise ApiError(410, "Expired", f"resourceVersion {revision} is too old (compacted)") from e
        items = [decode(kv.value, kv.mod_revision) for kv in kvs]
        return [o for o in items if match(o)], (revision or rev)

    # -- writes ----------------------------------------------------------------------------
    def _check_body(self, res: Resource, ns: str | None, obj) -> dict:
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the body must be a JSON object")
        if obj.get("kind", res.kind) != res.kind or obj.get("apiVersion", res.group_version) != res.group_version:
            raise ApiError(400, "BadRequest",
                           f"the API version in the data ({obj.get('apiVersion')}) and kind ({obj.get('kind')}) "
                           f"do not match the request ({res.group_version}, {res.kind})")
        obj["kind"], obj["apiVersion"] = res.kind, res.group_version
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            if meta.get("namespace", ns) != ns:
                raise ApiError(400, "BadRequest",
                               "the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        return meta

    def _require_namespace(self, res: Resource, ns: str | None):
        if res.namespaced:
            kv, _ = self.etcd.get(NAMESPACES.key(None, ns))
            if kv is None:
                raise ApiError(404, "NotFound", f'namespaces "{ns}" not found',
                               {"name": ns, "kind": "namespaces"})

    def create(self, res: Resource, ns: str | None, obj) -> dict:
        meta = self._check_body(res, ns, obj)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta.get("name") or ""
        pattern = _DNS_LABEL if res.kind in ("Namespace", "Service") else _DNS_SUBDOMAIN
        if not name or len(name) > (63 if pattern is _DNS_LABEL else 253) or not pattern.fullmatch(name):
            raise invalid(res, name, f"metadata.name: Invalid value: {name!r}: must be a lowercase RFC 1123 "
                                     f"{'label' if pattern is _DNS_LABEL else 'subdomain'}")
        self._require_namespace(res, ns)
        for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"):
            meta.pop(k, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        meta["generation"] = 1
        err = apply_defaults(res, obj, None)
        if err:
            raise invalid(res, name, err)
        ok, rev = self.etcd.put_if(res.key(ns, name), encode(obj), 0)
        if not ok:
            raise ApiError(409, "AlreadyExists",
                           f'{res.plural}{"." + res.group if res.group else ""} "{name}" already exists',
                           {"name": name, "group": res.group, "kind": res.plural})
        obj["metadata"]["resourceVersion"] = str(rev)
        return obj

    def _write(self, res: Resource, ns: str | None, name: str, make_new) -> dict:
        """Read-modify-write: make_new(current object) -> (new object, wanted RV or None).
        Retried on a concurrent write when the caller did not ask for a precise resourceVersion."""
        key = res.key(ns, name)
        for _ in range(10):
            kv, _ = self.etcd.get(key)
            if kv is None:
                raise not_found(res, name)
            current = decode(kv.value, kv.mod_revision)
            new = make_new(copy.deepcopy(current))
            meta = self._check_body(res, ns, new)
            if meta.get("name", name) != name:
                raise ApiError(400, "BadRequest", f"the name of the object ({meta.get('name')}) does not match the "
                                                  f"name on the URL ({name})")
            meta["name"] = name
            wanted = meta.pop("resourceVersion", None)
            if wanted and wanted != str(kv.mod_revision):
                raise conflict(res, name)
            old = json.loads(kv.value)
            for k in ("uid", "creationTimestamp"):
                meta[k] = old["metadata"].get(k)
            meta.pop("managedFields", None)
            err = apply_defaults(res, new, old)
            if err:
                raise invalid(res, name, err)
            meta["generation"] = old["metadata"].get("generation", 1) + (_spec_part(new) != _spec_part(old))
            data = encode(new)
            if data == kv.value:  # a no-op write does not change the resourceVersion
                return current
            ok, rev = self.etcd.put_if(key, data, kv.mod_revision)
            if ok:
                new["metadata"]["resourceVersion"] = str(rev)
                return new
            if wanted:
                raise conflict(res, name)
        raise conflict(res, name)

    def update(self, res: Resource, ns: str | None, name: str, obj) -> dict:
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the body must be a JSON object")
        return self._write(res, ns, name, lambda _current: copy.deepcopy(obj))

    def patch(self, res: Resource, ns: str | None, name: str, content_type: str, body) -> dict:
        ct = content_type.split(";")[0].strip()
        fn = {"application/merge-patch+json": patches.merge_patch,
              "application/strategic-merge-patch+json": patches.strategic_merge_patch,
              "application/json-patch+json": patches.json_patch}.get(ct)
        if fn is None:
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                                                        f"accepted media types include: application/json-patch+json, "
                                                        f"application/merge-patch+json, "
                                                        f"application/strategic-merge-patch+json")

        def apply(current):
            try:
                return fn(current, body)
            except patches.PatchError as e:
                raise ApiError(422, "Invalid", str(e)) from e

        return self._write(res, ns, name, apply)

    def delete(self, res: Resource, ns: str | None, name: str, options: dict | None) -> dict:
        key = res.key(ns, name)
        pre = (options or {}).get("preconditions") or {}
        for _ in range(10):
            kv, _ = self.etcd.get(key)
            if kv is None:
                raise not_found(res, name)
            current = decode(kv.value, kv.mod_revision)
            if pre.get("uid") and pre["uid"] != current["metadata"].get("uid"):
                raise ApiError(409, "Conflict", f"Precondition failed: UID in precondition: {pre['uid']}, "
                                                f"UID in object meta: {current['metadata'].get('uid')}")
            if pre.get("resourceVersion") and pre["resourceVersion"] != str(kv.mod_revision):
                raise conflict(res, name)
            ok, _ = self.etcd.delete_if(key, kv.mod_revision)
            if ok:
                if res is NAMESPACES:  # no Terminating phase: the namespace's objects go at once
                    for r in RESOURCES:
                        if r.namespaced:
                            self.etcd.delete_prefix(r.key_prefix(name))
                return current
        raise conflict(res, name)

    def ensure_namespace(self, name: str):
        try:
            self.create(NAMESPACES, None, {"metadata": {"name": name}})
        except ApiError as e:
            if e.code != 409:
                raise
