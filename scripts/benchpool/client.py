"""The timing client of scripts/bench-pool. It runs inside the east namespace (`ip netns exec …
python3 client.py`) and obeys one JSON command per line on standard input, answering each with one
JSON line on standard output:

  {"cmd": "ping", "host": H, "count": N, "timeout": T}
      N ICMP echo requests to H, one after the other (a raw socket: no `ping` binary needed); the
      round-trip times in ms of those answered and the count lost.
  {"cmd": "pool", "admin": "host:port"}
      every figure whose name contains "pool" in the admin's /status (JSON, searched at any depth)
      and /metrics (Prometheus text), and `idle`: the status counter `gateway_pool_idle` (null
      when there is none).
  {"cmd": "run", "port": P, "connections": N, "concurrent": K, "gap": G, "timeout": T, "payload": B}
      N connections to 127.0.0.1:P in rounds of K started together (K = 1: one after the other),
      G seconds between the end of a round and the next. Each: connect, send B random bytes, read
      them back, compare, close; everything within T seconds. Answers the connect and first-byte
      times (ms, from the start of connect()) of those that succeeded and the failures by kind.
  {"cmd": "quit"}

Only the standard library (blocking sockets, one thread per client of a round)."""

import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.request


class EchoError(Exception):
    """The echo was short or differed."""


def kind_of(error):
    """A short failure kind for the counts."""
    if isinstance(error, EchoError):
        return str(error)
    if isinstance(error, socket.timeout):
        return "timeout"
    return type(error).__name__


def one_connection(port, payload_size, timeout):
    """One timed client; returns (connect_ms, first_byte_ms). Raises on any failure."""
    payload = os.urandom(payload_size)
    began = time.monotonic()
    deadline = began + timeout

    def remaining():
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        return left

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(remaining())
        sock.connect(("127.0.0.1", port))
        connected = time.monotonic()
        sock.settimeout(remaining())
        sock.sendall(payload)
        sock.settimeout(remaining())
        echoed = sock.recv(payload_size)
        first = time.monotonic()
        if not echoed:
            raise EchoError("eof")
        while len(echoed) < payload_size:
            sock.settimeout(remaining())
            chunk = sock.recv(payload_size - len(echoed))
            if not chunk:
                raise EchoError("eof")
            echoed += chunk
        if echoed != payload:
            raise EchoError("mismatch")
    finally:
        sock.close()
    return (connected - began) * 1000, (first - began) * 1000


def cmd_run(cmd):
    n, k = cmd["connections"], max(1, cmd.get("concurrent", 1))
    connect_ms, first_byte_ms, failures = [], [], {}
    lock = threading.Lock()

    def client(barrier):
        try:
            barrier.wait(10)
            c, f = one_connection(cmd["port"], cmd["payload"], cmd["timeout"])
        except Exception as e:  # noqa: BLE001 - every failure is counted by kind
            with lock:
                failures[kind_of(e)] = failures.get(kind_of(e), 0) + 1
            return
        with lock:
            connect_ms.append(c)
            first_byte_ms.append(f)

    t0 = time.monotonic()
    done = 0
    while done < n:
        size = min(k, n - done)
        if size == 1:
            client(threading.Barrier(1))
        else:
            barrier = threading.Barrier(size)
            threads = [threading.Thread(target=client, args=(barrier,)) for _ in range(size)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(cmd["timeout"] + 15)
        done += size
        if done < n and cmd["gap"] > 0:
            time.sleep(cmd["gap"])
    return {"succeeded": len(first_byte_ms), "failed": sum(failures.values()), "failures": failures,
            "seconds": time.monotonic() - t0, "connect_ms": connect_ms, "first_byte_ms": first_byte_ms}


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def cmd_ping(cmd):
    rtts, lost = [], 0
    ident = os.getpid() & 0xFFFF
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        for seq in range(1, cmd["count"] + 1):
            body = b"bench-pool" + bytes(22)
            header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            packet = struct.pack("!BBHHH", 8, 0, checksum(header + body), ident, seq) + body
            sent = time.monotonic()
            sock.sendto(packet, (cmd["host"], 0))
            answered = False
            while not answered:
                left = sent + cmd["timeout"] - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                try:
                    data, _ = sock.recvfrom(2048)
                except socket.timeout:
                    break
                ihl = (data[0] & 0x0F) * 4
                kind, _, _, got_ident, got_seq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
                answered = kind == 0 and got_ident == ident and got_seq == seq
            if answered:
                rtts.append((time.monotonic() - sent) * 1000)
            else:
                lost += 1
    return {"rtt_ms": rtts, "lost": lost}


NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(admin, path, timeout=2.0):
    """The body of http://ADMIN/PATH as text, or None."""
    try:
        with NO_PROXY.open(f"http://{admin}{path}", timeout=timeout) as response:
            return response.read().decode(errors="replace")
    except Exception:  # noqa: BLE001 - unreadable is reported as None
        return None


def pool_figures(node, prefix=""):
    """{dotted name: number} of every numeric leaf of a JSON document whose name contains "pool"."""
    out = {}
    if isinstance(node, dict):
        for key, value in node.items():
            out.update(pool_figures(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.update(pool_figures(value, f"{prefix}[{i}]"))
    elif isinstance(node, (int, float)) and not isinstance(node, bool) and "pool" in prefix.lower():
        out[prefix] = node
    return out


def metric_figures(text):
    """{series: value} of the Prometheus lines whose name contains "pool"."""
    out = {}
    for line in (text or "").splitlines():
        if line.startswith("#") or "pool" not in line.split("{")[0].split(" ")[0]:
            continue
        series, _, value = line.rpartition(" ")
        try:
            out[series] = float(value)
        except ValueError:
            pass
    return out


def cmd_pool(cmd):
    status, metrics = get(cmd["admin"], "/status"), get(cmd["admin"], "/metrics")
    try:
        status_figures = pool_figures(json.loads(status)) if status else {}
    except ValueError:
        status_figures = {}
    metrics_figures = metric_figures(metrics)
    # The gateway's total: its `gateway_pool_idle` counter (links[].pool repeats it per link).
    idle = status_figures.get("counters.gateway_pool_idle")
    return {"status": status_figures, "metrics": metrics_figures, "idle": idle,
            "answered": status is not None or metrics is not None}


COMMANDS = {"run": cmd_run, "ping": cmd_ping, "pool": cmd_pool}


def serve():
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            return
        try:
            answer = COMMANDS[cmd["cmd"]](cmd)
        except Exception as e:  # noqa: BLE001 - the controller reports it as a failed mode
            answer = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
