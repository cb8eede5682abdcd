"""The HTTP side: routing, bearer-token authorization, Status errors, tables, and watch streams."""

from __future__ import annotations

import json
import queue
import select
import socket
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import kselectors
import resources as R
from etcd import Compacted, Etcd, EtcdError
from store import ApiError, Store, decode, status

OPENAPI_PB = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
PATCH_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json", "application/json-patch+json")
UNAUTHENTICATED_PATHS = {"/version", "/healthz", "/livez", "/readyz"}


class Tokens:
    """A token file: one `token,user,verbs,resources` line each; verbs and resources are
    `;`-separated lists or `*`. Lines starting with # are comments."""

    def __init__(self, path: str | None):
        self.entries: dict[str, tuple[str, set, set]] = {}
        if path:
            for line in open(path, encoding="utf-8"):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                token, user, verbs, res = (p.strip() for p in line.split(",", 3))
                self.entries[token] = (user, set(verbs.split(";")), set(res.split(";")))

    def user(self, header: str | None):
        if not self.entries:
            return ("anonymous", {"*"}, {"*"})
        if not header or not header.startswith("Bearer "):
            return None
        return self.entries.get(header[len("Bearer "):].strip())


def age(ts: str | None) -> str:
    if not ts:
        return "<unknown>"
    s = int((datetime.now(timezone.utc) - datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc)).total_seconds())
    if s < 120:
        return f"{max(s, 0)}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def table(res: R.Resource, objs: list[dict], rv: str, include: str, headers: bool = True) -> dict:
    cols = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
    cols += [{"name": n, "type": t, "format": "", "description": n, "priority": 0} for n, t, _ in res.columns]
    cols.append({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0})
    rows = []
    for o in objs:
        cells = [o["metadata"]["name"]] + [fn(o) for _, _, fn in res.columns] + [age(o["metadata"].get("creationTimestamp"))]
        row = {"cells": cells}
        if include == "Object":
            row["object"] = o
        elif include != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}
        rows.append(row)
    t = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv}, "rows": rows}
    if headers:
        t["columnDefinitions"] = cols
    return t


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, etcd: Etcd, tokens: Tokens, ssl_context, log, bookmark_interval: float):
        super().__init__(addr, Handler)
        if ssl_context is not None:
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.etcd, self.store, self.tokens, self.log = etcd, Store(etcd), tokens, log
        self.bookmark_interval = bookmark_interval

    def handle_error(self, request, client_address):  # quiet about clients that go away
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stalls
    server: Server

    def log_message(self, fmt, *args):
        pass

    # -- responses -------------------------------------------------------------------------
    def send_json(self, code: int, body: dict | bytes, content_type: str = "application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self._logged = code

    def send_error_status(self, e: ApiError):
        self.send_json(e.code, status(e.code, e.reason, e.message, e.details))

    def chunk(self, data: bytes):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    # -- dispatch --------------------------------------------------------------------------
    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method: str):
        started = time.monotonic()
        self._logged = 0
        url = urlsplit(self.path)
        self.q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        raw = self.read_body()
        user = "-"
        try:
            who = self.server.tokens.user(self.headers.get("Authorization"))
            if who is None and url.path not in UNAUTHENTICATED_PATHS:
                raise ApiError(401, "Unauthorized", "Unauthorized")
            user = who[0] if who else "-"
            self.route(method, url.path.rstrip("/") or "/", raw, who)
        except ApiError as e:
            self.send_error_status(e)
        except (Compacted, EtcdError, OSError) as e:
            if isinstance(e, (BrokenPipeError, ConnectionResetError)):
                raise
            self.send_error_status(ApiError(500, "InternalError", f"storage: {e}"))
        finally:
            self.server.log(f"{user} {method} {self.path} {self._logged} {1000 * (time.monotonic() - started):.1f}ms")

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            for _ in range(100_000):
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(16)
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def body(self, raw: bytes):
        try:
            return json.loads(raw) if raw else None
        except json.JSONDecodeError as e:
            raise ApiError(400, "BadRequest", f"invalid JSON body: {e}") from e

    def route(self, method: str, path: str, raw: bytes, who):
        if path in ("/healthz", "/livez", "/readyz"):
            return self.send_json(200, b"ok", "text/plain")
        if path == "/version":
            return self.send_json(200, R.VERSION)
        if path == "/api":
            return self.send_json(200, R.api_versions(f"{self.server.server_address[0]}:{self.server.server_address[1]}"))
        if path == "/apis":
            return self.send_json(200, R.api_group_list())
        if path == "/openapi/v2":
            # No schemas: an empty protobuf Document for kubectl (which then skips validation of
            # the kinds it does not find), or the JSON equivalent.
            if OPENAPI_PB in (self.headers.get("Accept") or ""):
                return self.send_json(200, b"", "application/octet-stream")
            return self.send_json(200, {"swagger": "2.0", "info": {"title": "meshgate test API server",
                                                                   "version": R.VERSION["gitVersion"]},
                                        "paths": {}, "definitions": {}})
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 2 and parts[1] == "v1":
            group, version, rest = "", "v1", parts[2:]
        elif parts[0] == "apis" and len(parts) >= 2 and parts[1] in R.groups():
            if len(parts) == 2:
                return self.send_json(200, R.api_group(parts[1]))
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            doc = R.resource_list(group, version)
            if doc is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return self.send_json(200, doc)
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        res = R.BY_PATH.get((group, version, rest[0]))
        if res is None or len(rest) > 2 or (ns is not None and not res.namespaced):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        name = rest[1] if len(rest) == 2 else None
        if not res.namespaced:
            ns = None
        self.resource(method, res, ns, name, raw, who)

    def authorize(self, who, verb: str, res: R.Resource, ns: str | None, name: str | None):
        user, verbs, allowed = who
        if ("*" in verbs or verb in verbs) and ("*" in allowed or res.plural in allowed):
            return
        where = f' in the namespace "{ns}"' if ns else " at the cluster scope"
        target = f'{res.plural} "{name}"' if name else res.plural
        raise ApiError(403, "Forbidden", f'{target} is forbidden: User "{user}" cannot {verb} resource '
                                         f'"{res.plural}" in API group "{res.group}"{where}',
                       {"name": name or "", "group": res.group, "kind": res.plural})

    def resource(self, method: str, res: R.Resource, ns, name, raw: bytes, who):
        store = self.server.store
        watching = self.q.get("watch") in ("true", "1")
        verb = {("GET", False): "list", ("GET", True): "get", ("POST", False): "create", ("PUT", True): "update",
                ("PATCH", True): "patch", ("DELETE", True): "delete",
                ("DELETE", False): "deletecollection"}.get((method, name is not None))
        if verb is None:
            raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the requested resource")
        if watching and method == "GET":
            verb = "watch"
        self.authorize(who, verb, res, ns, name)
        if "dryRun" in self.q and verb in ("create", "update", "patch", "delete", "deletecollection"):
            raise ApiError(400, "BadRequest", "dryRun is not supported by the test API server")
        if verb == "watch":
            return self.watch(res, ns, name)
        if verb == "get":
            return self.send_object(200, res, store.get(res, ns, name))
        if verb == "list":
            match = self.matcher()
            rv = 0
            if self.q.get("resourceVersionMatch") == "Exact" and self.q.get("resourceVersion"):
                rv = int(self.q["resourceVersion"])
            items, rev = store.list(res, ns, match, rv)
            return self.send_list(res, items, str(rev))
        if verb == "create":
            return self.send_object(201, res, store.create(res, ns, self.body(raw)))
        if verb == "update":
            return self.send_object(200, res, store.update(res, ns, name, self.body(raw)))
        if verb == "patch":
            ct = self.headers.get("Content-Type", "")
            if ct.split(";")[0].strip() not in PATCH_TYPES:  # before parsing: YAML apply patches are 415
                store.patch(res, ns, name, ct, None)
            return self.send_object(200, res, store.patch(res, ns, name, ct, self.body(raw)))
        if verb == "delete":
            return self.send_object(200, res, store.delete(res, ns, name, self.body(raw)))
        if verb == "deletecollection":
            items, rev = store.list(res, ns, self.matcher())
            deleted = []
            for o in items:
                try:
                    deleted.append(store.delete(res, ns, o["metadata"]["name"], None))
                except ApiError as e:
                    if e.code != 404:
                        raise
            return self.send_list(res, deleted, str(rev))

    def matcher(self):
        try:
            labels = kselectors.parse_labels(self.q.get("labelSelector"))
            fields = kselectors.parse_fields(self.q.get("fieldSelector"))
        except kselectors.SelectorError as e:
            raise ApiError(400, "BadRequest", str(e)) from e
        return lambda o: labels(o.get("metadata", {}).get("labels")) and fields(o)

    def wants_table(self) -> bool:
        return "as=Table" in (self.headers.get("Accept") or "")

    def send_object(self, code: int, res: R.Resource, obj: dict):
        if self.wants_table():
            return self.send_json(code, table(res, [obj], obj["metadata"]["resourceVersion"],
                                              self.q.get("includeObject", "Metadata")))
        self.send_json(code, obj)

    def send_list(self, res: R.Resource, items: list[dict], rv: str):
        if self.wants_table():
            return self.send_json(200, table(res, items, rv, self.q.get("includeObject", "Metadata")))
        for o in items:  # the real server's list items carry no kind/apiVersion
            o.pop("kind", None)
            o.pop("apiVersion", None)
        self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.group_version,
                             "metadata": {"resourceVersion": rv}, "items": items})

    # -- watch -----------------------------------------------------------------------------
    def watch(self, res: R.Resource, ns, name):
        match = self.matcher()
        if name:  # a watch on one object (`.../services/redis?watch=1`) is a field selector on its name
            base = match
            match = lambda o: base(o) and o["metadata"]["name"] == name  # noqa: E731
        rv = self.q.get("resourceVersion", "")
        bookmarks = self.q.get("allowWatchBookmarks") in ("true", "1")
        timeout = min(float(self.q.get("timeoutSeconds") or 1800), 1800)
        deadline = time.monotonic() + timeout
        try:
            initial = [] if rv not in ("", "0") else None
            start = int(rv) + 1 if initial is not None else 0
        except ValueError as e:
            raise ApiError(400, "BadRequest", f"invalid resourceVersion {rv!r}") from e
        if initial is None:
            initial, rev = self.server.store.list(res, ns, match)
            start = int(rev) + 1
        table_mode = self.wants_table()
        include = self.q.get("includeObject", "Metadata")

        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._logged = 200

        def emit(kind: str, obj: dict):
            if table_mode and kind not in ("ERROR", "BOOKMARK"):
                obj = table(res, [obj], obj["metadata"]["resourceVersion"], include)
            self.chunk(json.dumps({"type": kind, "object": obj}).encode() + b"\n")

        for o in initial:
            emit("ADDED", o)

        events: queue.Queue = queue.Queue()
        w = None
        try:
            w = self.server.etcd.watch(res.key_prefix(ns), start)
        except (OSError, EtcdError) as e:
            events.put(("error", str(e)))

        def reader():
            try:
                while True:
                    r = w.next_response()
                    if r is None:
                        events.put(("end", None))
                        return
                    events.put(("resp", r))
            except Compacted as e:
                events.put(("compacted", e.compact_revision))
            except (OSError, EtcdError, ValueError) as e:
                events.put(("error", str(e)))

        if w is not None:
            threading.Thread(target=reader, daemon=True).start()
        last_bookmark = time.monotonic()
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    kind, value = events.get(timeout=min(left, 0.5))
                except queue.Empty:
                    if self.client_gone():
                        return
                    continue
                if kind == "end":
                    break
                if kind == "compacted":
                    emit("ERROR", status(410, "Expired", f"too old resource version: {start - 1} ({value})"))
                    break
                if kind == "error":
                    emit("ERROR", status(500, "InternalError", f"storage watch: {value}"))
                    break
                if not value["events"]:
                    if bookmarks and time.monotonic() - last_bookmark >= self.server.bookmark_interval:
                        last_bookmark = time.monotonic()
                        emit("BOOKMARK", {"kind": res.kind, "apiVersion": res.group_version,
                                          "metadata": {"resourceVersion": str(value["revision"])}})
                    continue
                for typ, kv, prev in value["events"]:
                    self.translate(typ, kv, prev, match, emit)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True
        finally:
            if w is not None:
                w.close()

    @staticmethod
    def translate(typ, kv, prev, match, emit):
        rev = kv.mod_revision
        old = decode(prev.value, rev) if prev is not None else None
        old_ok = old is not None and match(old)
        if typ == "DELETE":
            if old_ok:
                emit("DELETED", old)
            return
        new = decode(kv.value, rev)
        new_ok = match(new)
        if new_ok and old_ok:
            emit("MODIFIED", new)
        elif new_ok:
            emit("ADDED", new)
        elif old_ok:  # no longer selected: the client sees it go
            emit("DELETED", old)

    def client_gone(self) -> bool:
        """A watching client sends nothing: readable means it closed (or broke) the connection."""
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(r)


def serve(listen: tuple[str, int], etcd: Etcd, tokens: Tokens, ssl_context, log, bookmark_interval: float) -> Server:
    return Server(listen, etcd, tokens, ssl_context, log, bookmark_interval)
