"""The load client of scripts/bench-scale. It runs inside the east namespace (`ip netns exec … python3
client.py`), holds the connections to east's mirrored route and obeys one JSON command per line on
standard input, answering each with one JSON line on standard output:

  {"cmd": "open", "port": P, "count": N, "window": W, "concurrency": C, "timeout": T}
      opens N new connections to 127.0.0.1:P, the i-th starting at i·W/N seconds (W = 0: as fast
      as C in flight allow), each proven by a ping-pong: a random payload per connection, the echo
      compared by SHA-256. Answers the proven and failed counts, the failures by kind, and the
      connect and first-echoed-byte times (ms, from the connect's start) of the proven ones.
  {"cmd": "steady", "active": A, "seconds": S, "timeout": T}
      A of the held connections ping-pong continuously (fresh random payload each, checked by
      SHA-256) for S seconds while the rest stay idle: requests, errors, latencies.
  {"cmd": "status", "admins": ["host:port", …]}
      each gateway's `counters.active` and `ioBackend` from its admin /status (null when
      unreadable).
  {"cmd": "close", "admins": […], "baseline": [n, …], "timeout": T}
      shuts every held connection down at once (shutdown(SHUT_RDWR): the FINs leave in one loop
      of syscalls; the sockets are closed afterwards), then polls the admins until each reports at most its
      baseline `active`: the seconds until both had (null on timeout), when each did, the last
      values seen, every sample [seconds, active…] and the seconds the client's own closes took.
  {"cmd": "quit"}

It needs only the standard library (asyncio on epoll), so it runs with the system python3."""

import asyncio
import hashlib
import json
import os
import socket
import sys
import time

PAYLOAD = 256  # bytes per ping-pong


class Held:
    """The proven connections, in the order they were opened."""

    def __init__(self):
        self.streams = []


def kind_of(error):
    """A short failure kind for the counts: the exception's class, or the message for ours."""
    if isinstance(error, ProofError):
        return str(error)
    if isinstance(error, asyncio.TimeoutError):
        return "timeout"
    return type(error).__name__


class ProofError(Exception):
    """The echo did not prove the connection: EOF early or a digest mismatch."""


async def ping_pong(reader, writer):
    """Sends a fresh random payload and reads as many bytes back; returns the monotonic time the
    first echoed byte arrived. Raises ProofError when the echo is short or differs."""
    data = os.urandom(PAYLOAD)
    writer.write(data)
    first = await reader.read(PAYLOAD)
    first_at = time.monotonic()
    if not first:
        raise ProofError("eof")
    echoed = hashlib.sha256(first)
    got = len(first)
    while got < PAYLOAD:
        chunk = await reader.read(PAYLOAD - got)
        if not chunk:
            raise ProofError("eof")
        echoed.update(chunk)
        got += len(chunk)
    if echoed.digest() != hashlib.sha256(data).digest():
        raise ProofError("sha256-mismatch")
    return first_at


async def open_one(port, start_at, timeout, gate, held, result):
    """Waits for its start time, opens and proves one connection, records the outcome."""
    delay = start_at - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    async with gate:
        began = time.monotonic()
        writer = None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
            connected = time.monotonic()
            first_at = await asyncio.wait_for(ping_pong(reader, writer), timeout - (connected - began))
        except Exception as e:  # noqa: BLE001 - every failure is counted by kind
            result["failures"][kind_of(e)] = result["failures"].get(kind_of(e), 0) + 1
            if writer is not None:
                writer.transport.abort()
            return
        result["connect_ms"].append((connected - began) * 1000)
        result["first_byte_ms"].append((first_at - began) * 1000)
        held.streams.append((reader, writer))


async def cmd_open(cmd, held):
    count, window = cmd["count"], cmd.get("window", 0)
    gate = asyncio.Semaphore(cmd.get("concurrency") or count or 1)
    result = {"failures": {}, "connect_ms": [], "first_byte_ms": []}
    t0 = time.monotonic()
    tasks = [open_one(cmd["port"], t0 + (i * window / count if window else 0), cmd["timeout"], gate, held, result)
             for i in range(count)]
    await asyncio.gather(*tasks)
    return {"proven": len(result["connect_ms"]), "failed": sum(result["failures"].values()),
            "failures": result["failures"], "seconds": time.monotonic() - t0, "held": len(held.streams),
            "connect_ms": result["connect_ms"], "first_byte_ms": result["first_byte_ms"]}


async def cmd_steady(cmd, held):
    active = held.streams[:cmd["active"]]
    latencies, errors = [], {}
    end = time.monotonic() + cmd["seconds"]

    async def loop(reader, writer):
        while time.monotonic() < end:
            began = time.monotonic()
            try:
                await asyncio.wait_for(ping_pong(reader, writer), cmd["timeout"])
            except Exception as e:  # noqa: BLE001 - counted; the connection stops taking part
                errors[kind_of(e)] = errors.get(kind_of(e), 0) + 1
                return
            latencies.append((time.monotonic() - began) * 1000)

    t0 = time.monotonic()
    await asyncio.gather(*(loop(r, w) for r, w in active))
    return {"active": len(active), "requests": len(latencies), "seconds": time.monotonic() - t0,
            "errors": errors, "latency_ms": latencies}


async def status_of(admin, timeout=2.0):
    """The JSON of http://ADMIN/status, or None."""
    host, port = admin.rsplit(":", 1)
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), timeout)
        try:
            writer.write(f"GET /status HTTP/1.1\r\nHost: {admin}\r\nConnection: close\r\n\r\n".encode())
            raw = await asyncio.wait_for(reader.read(), timeout)
        finally:
            writer.transport.abort()
        body = raw.split(b"\r\n\r\n", 1)[1]
        return json.loads(body)
    except Exception:  # noqa: BLE001 - unreadable is reported as None
        return None


async def active_of(admin):
    """`counters.active` from http://ADMIN/status, or None."""
    status = await status_of(admin)
    try:
        return status["counters"]["active"]
    except (TypeError, KeyError):
        return None


async def cmd_status(cmd, _held):
    statuses = await asyncio.gather(*(status_of(a) for a in cmd["admins"]))
    return {"active": [s["counters"]["active"] if s else None for s in statuses],
            "ioBackend": [s.get("ioBackend") if s else None for s in statuses]}


async def cmd_close(cmd, held):
    # shutdown() sends each FIN at once, in one loop of syscalls; closing asyncio transports one by
    # one (callbacks, epoll removal) would spread the FINs over most of a second for 9,000.
    t0 = time.monotonic()
    for _reader, writer in held.streams:
        try:
            writer.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    client_close = time.monotonic() - t0
    closed = len(held.streams)
    streams, held.streams = held.streams, []
    deadline = t0 + cmd["timeout"]
    baseline = cmd["baseline"]
    zero_at = [None] * len(baseline)  # when each gateway first reported its baseline
    samples, last = [], []
    while time.monotonic() < deadline and None in zero_at:
        last = list(await asyncio.gather(*(active_of(a) for a in cmd["admins"])))
        now = time.monotonic() - t0
        samples.append([round(now, 3), *last])
        for i, (v, b) in enumerate(zip(last, baseline)):
            if zero_at[i] is None and v is not None and v <= b:
                zero_at[i] = now
        await asyncio.sleep(0.01)
    seconds = max(zero_at) if None not in zero_at else None
    for _reader, writer in streams:
        writer.close()
    return {"closed": closed, "seconds": seconds, "zero_at": zero_at, "active": last, "samples": samples,
            "client_close": client_close}


COMMANDS = {"open": cmd_open, "steady": cmd_steady, "status": cmd_status, "close": cmd_close}


async def serve():
    held = Held()
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            return
        try:
            answer = await COMMANDS[cmd["cmd"]](cmd, held)
        except Exception as e:  # noqa: BLE001 - the controller reports it as a failed phase
            answer = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(serve())
