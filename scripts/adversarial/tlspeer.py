"""A hand-driven peer of a gateway's inbound port for the adversarial cases: mTLS with any
identity folder (tls.crt, tls.key, ca.crt), transport headers built byte by byte (docs/wire.md),
and how a connection ended (reset, clean end, timeout). Every call is bounded in time."""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Optional

from harness import Fail

KIND_CONNECT, KIND_DISCOVER, KIND_PROBE = 1, 2, 3


def header(kind: int, fields: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(bytes([tag]) + len(value).to_bytes(2, "big") + value for tag, value in fields)
    return b"MGWH" + bytes([1, kind]) + len(body).to_bytes(2, "big") + body


def connect_header(namespace: str, name: str, port: int) -> bytes:
    return header(KIND_CONNECT, [(1, namespace.encode()), (2, name.encode()), (3, port.to_bytes(2, "big"))])


def discover_header(cluster: str) -> bytes:
    return header(KIND_DISCOVER, [(5, cluster.encode())])


def context(identity: Path, alpn: bool = True, tls12: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # the gateway's name is its SAN identity, not 127.0.0.1
    ctx.load_verify_locations(str(identity / "ca.crt"))
    ctx.load_cert_chain(str(identity / "tls.crt"), str(identity / "tls.key"))
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if alpn:
        ctx.set_alpn_protocols(["meshgate/1"])
    return ctx


def open_tls(port: int, identity: Path, alpn: bool = True, tls12: bool = False, timeout: float = 5.0) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return context(identity, alpn, tls12).wrap_socket(raw)
    except BaseException:
        raw.close()
        raise


def ending(sock: socket.socket, timeout: float) -> str:
    """Reads until the peer ends the connection: "reset" (an RST), "clean" (a FIN), or "timeout"
    (nothing ended it within `timeout`); data read on the way is ignored. Python's ssl module
    reports a reset during a TLS read as an EOF at times, so the end is told by TCP state: after
    a FIN our socket sits in CLOSE-WAIT, after an RST it is gone."""
    local = sock.getsockname()[1]
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout"
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return "timeout"
        except ConnectionResetError:
            return "reset"
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
            data = b""
        except ssl.SSLError as e:
            text = str(e).lower()
            if "reset" in text:
                return "reset"
            return f"tls-error ({e.reason or text})"
        except OSError as e:
            return f"error ({e})"
        if not data:
            return "clean" if _in_close_wait(local) else "reset"


def _in_close_wait(local_port: int) -> bool:
    out = subprocess.run(["ss", "-Htn", "state", "close-wait", f"( sport = :{local_port} )"],
                         capture_output=True, text=True, timeout=5).stdout
    return bool(out.strip())


def read_exactly(sock: socket.socket, n: int, timeout: float = 5.0) -> bytes:
    deadline = time.monotonic() + timeout
    out = b""
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Fail(f"only {len(out)} of {n} bytes within {timeout:g}s")
        sock.settimeout(left)
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise Fail(f"the gateway ended the stream after {len(out)} of {n} bytes")
        out += chunk
    return out


def expect_snapshot_begin(sock: socket.socket) -> int:
    """Reads the first discover frame; it must be snapshot_begin (00 09 01 + generation)."""
    frame = read_exactly(sock, 11)
    if frame[:3] != b"\x00\x09\x01":
        raise Fail(f"the first discover frame is not snapshot_begin: {frame.hex()}")
    return int.from_bytes(frame[3:], "big")


def established(local_port: int, remote_port: int) -> bool:
    """Whether an ESTABLISHED TCP socket 127.0.0.1:local_port <-> :remote_port exists (either end)."""
    out = subprocess.run(
        ["ss", "-Htn", "state", "established", f"( sport = :{local_port} and dport = :{remote_port} )"],
        capture_output=True, text=True, timeout=5).stdout
    return bool(out.strip())
