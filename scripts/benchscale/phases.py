"""One io backend's run: fresh namespaces and processes, then the phases — burst, grow to N held,
RSS, steady, close all — each with a progress line. Returns the backend's results (with `error`
set when a phase could not run); everything it started is gone when it returns."""

import json
import os
import select
import time

from . import stats
from .cluster import ADMIN_PORT, Cluster, write_configs
from .netns import WEST_IP, Pair
from .runs import failures_recorded, tear_down

ADMINS = [f"127.0.0.1:{ADMIN_PORT}", f"{WEST_IP}:{ADMIN_PORT}"]  # east's, west's (seen from east)
SIDES = ("east", "west")


class PhaseError(Exception):
    """A phase could not run (the client or a gateway died, an answer never came)."""


class ClientChannel:
    """The JSON-lines conversation with the load client, every answer awaited with a deadline."""

    def __init__(self, proc):
        self.proc = proc

    def ask(self, limit, **cmd):
        """Sends one command; returns its answer. PhaseError when the client exits, errs or is
        silent for `limit` seconds."""
        try:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
        except OSError as e:
            raise PhaseError(f"the client is gone ({e})") from None
        ready, _, _ = select.select([self.proc.stdout], [], [], limit)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            why = f"exited {self.proc.poll()}" if ready else f"no answer within {limit:.0f} s"
            raise PhaseError(f"client command {cmd['cmd']}: {why}")
        answer = json.loads(line)
        if "error" in answer:
            raise PhaseError(f"client command {cmd['cmd']}: {answer['error']}")
        return answer

    def quit(self):
        try:
            self.proc.stdin.write('{"cmd": "quit"}\n')
            self.proc.stdin.flush()
            self.proc.wait(10)
        except Exception:  # noqa: BLE001 - the caller stops it anyway
            pass


def mib(n):
    return None if n is None else n / 2**20


def kib(n):
    return None if n is None else n / 1024


def vm_rss(pid):
    """VmRSS of `pid` in bytes (from /proc/<pid>/status), None when unreadable."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def stop_together(processes):
    """Ends every process in `processes` at once: TERM to all, a second TERM a second later (a
    draining gateway then ends at once), KILL to what is left after 5 s."""
    procs = list(processes.running)
    for signal_round in range(2):
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + (1 if signal_round == 0 else 4)
        while time.monotonic() < deadline and any(p.poll() is None for p in procs):
            time.sleep(0.05)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        processes.running.remove(proc)


def thin(samples, most=200):
    """At most `most` of the close's samples, evenly spaced, the last kept."""
    step = max(1, len(samples) // most)
    return samples[::step] + ([samples[-1]] if samples and (len(samples) - 1) % step else [])


def first_reading(samples):
    """The first sample of the close as text: when it came and the counts."""
    return f"{samples[0][1:]} at {samples[0][0]:.2f} s" if samples else "none"


def halfway(samples, holding):
    """When each gateway's active count first fell to half of what it held, as text."""
    out = []
    for i, side in enumerate(SIDES):
        if holding[side] is None:
            out.append(f"{side} -")
            continue
        half = holding[side] / 2
        t = next((s[0] for s in samples if s[1 + i] is not None and s[1 + i] <= half), None)
        out.append(f"{side} {stats.fmt(t, 2)} s")
    return ", ".join(out)


class BackendRun:
    """The phases against one io backend; `results` fills in as they go."""

    def __init__(self, io_backend, opts, binaries, pki, workdir, processes, say):
        self.io_backend, self.opts, self.pki = io_backend, opts, pki
        self.meshgate, self.bench = binaries
        self.root = os.path.join(workdir, io_backend)
        self.processes = processes
        self.say = lambda message: say(f"{io_backend}: {message}")
        self.results = {"backend": io_backend, "connections": opts.connections, "error": None}

    def run(self):
        """Set-up, phases, tear-down; returns the results."""
        pair = Pair(self.io_backend)
        try:
            with failures_recorded(self.results, self.say, PhaseError):
                pair.create()
                cluster = Cluster(pair, self.processes, self.root, self.meshgate, self.bench)
                write_configs(self.meshgate, self.pki, self.root, self.io_backend, self.opts.loops)
                port = cluster.start()
                self.say(f"east and west up ({pair.names['east']}, {pair.names['west']}), "
                         f"route {port} on east mirrors west's echo backend")
                channel = ClientChannel(cluster.start_client())
                self.phases(cluster, channel, port)
                channel.quit()
        finally:
            tear_down(self.processes, pair, self.say)
        return self.results

    def baseline(self, channel):
        """Both gateways' `active` once both answer and run the wanted backend (10 s at most)."""
        deadline = time.monotonic() + 10
        while True:
            status = channel.ask(10, cmd="status", admins=ADMINS)
            if None not in status["active"]:
                break
            if time.monotonic() > deadline:
                raise PhaseError(f"the admin endpoints did not answer ({ADMINS})")
            time.sleep(0.2)
        wrong = [f"{s}: {b}" for s, b in zip(SIDES, status["ioBackend"]) if b != self.io_backend]
        if wrong:
            raise PhaseError(f"ioBackend {self.io_backend} asked, the status says {', '.join(wrong)}")
        return status["active"]

    def rss(self, cluster):
        return {c: vm_rss(cluster.gateways[c].pid) for c in SIDES}

    def check_alive(self, cluster, phase):
        dead = cluster.dead()
        if dead:
            raise PhaseError(f"{phase}: the gateway of {', '.join(dead)} exited")

    def phases(self, cluster, channel, port):
        opts, r = self.opts, self.results
        baseline = self.baseline(channel)
        rss_before = self.rss(cluster)
        r["baseline_active"] = dict(zip(SIDES, baseline))

        answer = channel.ask(opts.burst_window + opts.timeout + 60, cmd="open", port=port, count=opts.burst,
                             window=opts.burst_window, concurrency=0, timeout=opts.timeout)
        r["burst"] = stats.opened(answer, opts.burst, opts.burst_window)
        b = r["burst"]
        self.say(f"burst: {b['proven']}/{opts.burst} connections proven ({b['failed']} failed) in {b['seconds']:.1f} s; "
                 f"connect p50/p99 {stats.pair(b['connect_ms'])} ms, first byte {stats.pair(b['first_byte_ms'])} ms")
        self.check_alive(cluster, "burst")

        more = max(0, opts.connections - answer["held"])
        grow_timeout = opts.timeout + more / 50 + 60
        answer = channel.ask(grow_timeout, cmd="open", port=port, count=more, window=0,
                             concurrency=opts.open_concurrency, timeout=opts.timeout)
        r["grow"] = stats.opened(answer, more, 0)
        r["held"] = answer["held"]
        self.say(f"grow: {r['grow']['proven']}/{more} more proven ({r['grow']['failed']} failed) in "
                 f"{r['grow']['seconds']:.1f} s; holding {r['held']}")
        self.check_alive(cluster, "grow")

        time.sleep(opts.settle)
        rss_holding = self.rss(cluster)
        holding_active = channel.ask(10, cmd="status", admins=ADMINS)["active"]
        r["rss"] = stats.rss_per_connection(rss_before, rss_holding, r["held"])
        r["holding_active"] = dict(zip(SIDES, holding_active))
        self.say("rss: " + ", ".join(f"{c} {stats.fmt(mib(v['before']))} -> {stats.fmt(mib(v['holding']))} MiB "
                                     f"({stats.fmt(kib(v['per_connection']), 2)} KiB/conn)"
                                     for c, v in r["rss"].items())
                 + f"; active {holding_active}")

        active = max(1, round(r["held"] * opts.active_share))
        answer = channel.ask(opts.steady + opts.timeout + 30, cmd="steady", active=active, seconds=opts.steady,
                             timeout=opts.timeout)
        r["steady"] = stats.steady(answer)
        s = r["steady"]
        self.say(f"steady: {s['active']} active of {r['held']} for {s['seconds']:.1f} s: {s['requests']} ping-pongs, "
                 f"{s['rps']:.0f} req/s, p50/p99 {stats.pair(s['latency_ms'], 2)} ms, "
                 f"{s['failed']} errors")
        self.check_alive(cluster, "steady")

        answer = channel.ask(opts.close_timeout + 15, cmd="close", admins=ADMINS, baseline=baseline,
                             timeout=opts.close_timeout)
        r["close"] = {"closed": answer["closed"], "seconds": answer["seconds"], "client_close": answer["client_close"],
                      "zero_at": dict(zip(SIDES, answer["zero_at"])),
                      "active_after": dict(zip(SIDES, answer["active"])), "samples": thin(answer["samples"])}
        took = f"{answer['seconds']:.2f} s" if answer["seconds"] is not None else f"not within {opts.close_timeout} s"
        each = ", ".join(f"{c} at {stats.fmt(t, 2)} s" for c, t in zip(SIDES, answer["zero_at"]))
        self.say(f"close: {answer['closed']} closed at once (the client's shutdowns took "
                 f"{answer['client_close']:.2f} s); both gateways back to their baseline active "
                 f"{baseline} in {took} ({each}; first reading {first_reading(answer['samples'])}; halfway: "
                 f"{halfway(answer['samples'], r['holding_active'])})")
        time.sleep(opts.settle)
        rss_after = self.rss(cluster)
        for c in SIDES:
            r["rss"][c]["after_close"] = rss_after[c]
        self.say("rss after the close: " + ", ".join(f"{c} {stats.fmt(mib(rss_after[c]))} MiB" for c in SIDES))
        self.check_alive(cluster, "close")
