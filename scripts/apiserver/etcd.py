"""A small etcd v3 client over etcd's gRPC-gateway JSON API (/v3/kv/*, /v3/watch), stdlib only.

Keys and values are bytes; etcd's JSON API carries them base64-encoded and its int64 fields as
strings. One keep-alive connection per thread for unary calls; one connection per watch.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
from urllib.parse import urlsplit


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def prefix_end(prefix: bytes) -> bytes:
    """The range_end that selects every key starting with prefix."""
    p = bytearray(prefix)
    while p:
        if p[-1] < 0xFF:
            p[-1] += 1
            return bytes(p)
        p.pop()
    return b"\0"


class EtcdError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code  # gRPC code; 11 (OutOfRange) = compacted revision


class Compacted(Exception):
    def __init__(self, compact_revision: int):
        super().__init__(f"required revision has been compacted (compact revision {compact_revision})")
        self.compact_revision = compact_revision


class KV:
    __slots__ = ("key", "value", "create_revision", "mod_revision", "version")

    def __init__(self, raw: dict):
        self.key = unb64(raw.get("key"))
        self.value = unb64(raw.get("value"))
        self.create_revision = int(raw.get("create_revision", 0))
        self.mod_revision = int(raw.get("mod_revision", 0))
        self.version = int(raw.get("version", 0))


class Etcd:
    def __init__(self, url: str, timeout: float = 10.0):
        u = urlsplit(url)
        if u.scheme != "http":
            raise ValueError("only http:// etcd endpoints are supported")
        self.host, self.port, self.timeout = u.hostname, u.port or 2379, timeout
        self._local = threading.local()

    # -- transport -------------------------------------------------------------------------
    def _call(self, path: str, body: dict) -> dict:
        data = json.dumps(body).encode()
        for attempt in range(2):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self._local.conn = conn
            try:
                conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                payload = json.loads(resp.read() or b"{}")
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
                continue
            if resp.status != 200:
                raise EtcdError(int(payload.get("code", 2)), payload.get("message") or payload.get("error", ""))
            return payload
        raise AssertionError("unreachable")

    # -- kv --------------------------------------------------------------------------------
    def get(self, key: bytes, revision: int = 0) -> tuple[KV | None, int]:
        kvs, rev = self.range(key, None, revision)
        return (kvs[0] if kvs else None), rev

    def range(self, key: bytes, range_end: bytes | None, revision: int = 0) -> tuple[list[KV], int]:
        body = {"key": b64(key)}
        if range_end is not None:
            body["range_end"] = b64(range_end)
        if revision:
            body["revision"] = str(revision)
        try:
            r = self._call("/v3/kv/range", body)
        except EtcdError as e:
            if e.code == 11:
                raise Compacted(0) from e
            raise
        return [KV(kv) for kv in r.get("kvs", [])], int(r["header"]["revision"])

    def list_prefix(self, prefix: bytes, revision: int = 0) -> tuple[list[KV], int]:
        return self.range(prefix, prefix_end(prefix), revision)

    def revision(self) -> int:
        return self.range(b"\0", None)[1]

    def put_if(self, key: bytes, value: bytes, mod_revision: int) -> tuple[bool, int]:
        """Writes key only if its mod_revision is mod_revision (0: the key must not exist).
        Returns (written, revision): the new revision, or the store revision when not written."""
        compare = {"key": b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(mod_revision)}
        r = self._call("/v3/kv/txn", {
            "compare": [compare],
            "success": [{"request_put": {"key": b64(key), "value": b64(value)}}],
        })
        return bool(r.get("succeeded")), int(r["header"]["revision"])

    def delete_if(self, key: bytes, mod_revision: int) -> tuple[bool, int]:
        compare = {"key": b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(mod_revision)}
        r = self._call("/v3/kv/txn", {
            "compare": [compare],
            "success": [{"request_delete_range": {"key": b64(key)}}],
        })
        return bool(r.get("succeeded")), int(r["header"]["revision"])

    def delete_prefix(self, prefix: bytes) -> int:
        r = self._call("/v3/kv/deleterange", {"key": b64(prefix), "range_end": b64(prefix_end(prefix))})
        return int(r.get("deleted", 0))

    def put(self, key: bytes, value: bytes) -> int:
        return int(self._call("/v3/kv/put", {"key": b64(key), "value": b64(value)})["header"]["revision"])

    def compact(self, revision: int) -> None:
        self._call("/v3/kv/compaction", {"revision": str(revision), "physical": True})

    # -- watch -----------------------------------------------------------------------------
    def watch(self, prefix: bytes, start_revision: int) -> "Watch":
        return Watch(self, prefix, start_revision)


class Watch:
    """One etcd watch on a key prefix from start_revision, with prev_kv and progress notifications.
    Iterate responses with next_response(); close() from any thread ends it."""

    def __init__(self, etcd: Etcd, prefix: bytes, start_revision: int):
        self.conn = http.client.HTTPConnection(etcd.host, etcd.port, timeout=None)
        body = {"create_request": {
            "key": b64(prefix), "range_end": b64(prefix_end(prefix)),
            "start_revision": str(start_revision), "prev_kv": True, "progress_notify": True,
        }}
        self.conn.request("POST", "/v3/watch", body=json.dumps(body).encode(),
                          headers={"Content-Type": "application/json"})
        self.resp = self.conn.getresponse()
        if self.resp.status != 200:
            raise EtcdError(2, f"watch: HTTP {self.resp.status}")

    def next_response(self) -> dict | None:
        """The next watch response: {"revision", "events": [(type, KV, prev KV | None)],
        "compact_revision"}; None at the end of the stream. Raises Compacted."""
        while True:
            line = self.resp.readline()
            if not line:
                return None
            line = line.strip()
            if not line:
                continue
            msg = json.loads(line)
            if "error" in msg:
                raise EtcdError(int(msg["error"].get("grpc_code", 2)), msg["error"].get("message", ""))
            result = msg.get("result", {})
            if result.get("compact_revision") and result.get("canceled"):
                raise Compacted(int(result["compact_revision"]))
            if result.get("canceled"):
                raise EtcdError(1, result.get("cancel_reason", "watch canceled"))
            if result.get("created"):
                continue
            events = []
            for ev in result.get("events", []):
                prev = KV(ev["prev_kv"]) if ev.get("prev_kv") else None
                events.append((ev.get("type", "PUT"), KV(ev["kv"]), prev))
            return {"revision": int(result.get("header", {}).get("revision", 0)), "events": events}

    def close(self) -> None:
        try:
            if self.conn.sock is not None:
                import socket
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()
