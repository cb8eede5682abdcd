"""TLS counters of a chain, {"originating": {...}, "terminating": {...}}: HAProxy and Envoy are
asked while they run (stats socket, admin /stats); meshgate writes its --stats-file when it exits,
so it is read after the chain is stopped."""

import json
import socket
import urllib.request


def haproxy(sock_path, proxy_name, kind):
    """ssl_* (and a few session) counters of one frontend (kind F) or backend (kind B) from
    `show stat typed`."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    try:
        s.connect(sock_path)
        s.sendall(b"show stat typed\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    # Lines look like F.2.0.103.ssl_sess.1:MCP:u64:32; the proxy name comes from pxname lines.
    names, values = {}, {}
    for line in data.decode(errors="replace").splitlines():
        head, _, rest = line.partition(":")
        parts = head.split(".")
        if len(parts) < 5:
            continue
        key = (parts[0], parts[1], parts[2])
        name = parts[4]
        value = rest.split(":", 2)[-1]
        if name == "pxname":
            names[key] = value
        elif name.startswith("ssl_") or name in ("stot", "econ", "eresp", "cli_abrt", "srv_abrt", "dreq"):
            values.setdefault(key, {})[name] = value
    for key, fields in values.items():
        if key[0] == kind and names.get(key) == proxy_name:
            return {k: int(v) if v.isdigit() else v for k, v in fields.items()}
    return {}


def envoy(admin_port):
    """Envoy's non-zero TLS, tcp and cluster counters from its admin /stats."""
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/stats", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(": ")
        if value.strip().isdigit() and (".ssl." in name or name.startswith(("tcp.", "cluster."))) \
                and "expiration" not in name and int(value) != 0:
            out[name] = int(value)
    return out


def meshgate(path):
    """The numeric fields of a meshgate --stats-file ({} when it is missing or unreadable)."""
    try:
        with open(path) as f:
            obj = json.load(f)
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in obj.items() if isinstance(v, (int, float))}


def of_chain(running):
    """The counters of a running (HAProxy, Envoy) or stopped (meshgate) chain. They are a check,
    not a measurement: a failure is reported in the result, never raised."""
    try:
        if running.kind == "haproxy":
            return {"originating": haproxy(f"{running.tag}-originating.sock", "mtls_out", "B"),
                    "terminating": haproxy(f"{running.tag}-terminating.sock", "mtls_in", "F")}
        if running.kind == "envoy":
            return {"originating": envoy(running.admin_ports["originating"]),
                    "terminating": envoy(running.admin_ports["terminating"])}
        if running.kind == "meshgate":
            return {"originating": meshgate(f"{running.tag}-originating.stats.json"),
                    "terminating": meshgate(f"{running.tag}-terminating.stats.json")}
    except Exception as e:  # noqa: BLE001 — any failure of a check becomes a note
        return {"error": f"{type(e).__name__}: {e}"}
    return {}
