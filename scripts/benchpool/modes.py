"""One mode's run (pool off or on): fresh namespaces with the delayed link (a veth with netem, or
TUN devices and the delay line), fresh gateways with that mode's `links.pool`, the RTT by 20
pings, for `on` the wait for east's pool to fill, the timed connections, east's pool figures
before and after. Returns the mode's results (with `error` set when it could not run); everything
it started is gone when it returns."""

import os
import re
import statistics
import time

from benchscale.cluster import ADMIN_PORT, Cluster, SetupError, write_configs
from benchscale.netns import WEST_IP
from benchscale.phases import ClientChannel, PhaseError
from benchscale.runs import failures_recorded, tear_down
from benchscale.stats import fmt, percentile

from .tunlink import make_pair, summary_text

CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "client.py")
EAST_ADMIN = f"127.0.0.1:{ADMIN_PORT}"
PAYLOAD = 32
PINGS = 20
# How `meshgate link add` or the gateway names the key in an error (paths contain "bench-pool").
POOL_KEY_ERROR = re.compile(r"links\.(clusters\.[^.\s]+\.)?pool\b|\bpool\.(idle|maxAge)\b")


class PoolKeyRefused(Exception):
    """The gateway would not start with `links.pool` in its gateway.yaml (a build without it)."""


def pool_keys(mode, opts):
    """East's `links.pool` of a mode. `off` says idle 0 outright: the pool is on by default."""
    return "pool: {idle: 0}" if mode == "off" else f"pool: {{idle: {opts.idle}, maxAge: {opts.max_age}}}"


def quantiles(values):
    """{"p50", "p90", "p99"} (nearest rank) of `values`, None when empty."""
    return {f"p{p}": percentile(values, p) for p in (50, 90, 99)}


def counters(figures, name):
    """The gateway's status counter `name` (e.g. "gateway_pool_hits") from a pool reading, None
when it has none (a build without warm pools)."""
    return (figures or {}).get("status", {}).get(f"counters.{name}")


class ModeRun:
    """One mode against fresh gateways; `results` fills in as it goes."""

    def __init__(self, mode, opts, binaries, pki, workdir, processes, say):
        self.mode, self.opts, self.pki = mode, opts, pki
        self.meshgate, self.bench = binaries
        self.workdir, self.processes = workdir, processes
        self.say = lambda message: say(f"pool {mode}: {message}")
        self.results = {"mode": mode, "connections": opts.connections, "concurrent": opts.concurrent,
                        "links_pool": pool_keys(mode, opts), "error": None}

    def run(self):
        """Set-up, the timed connections, tear-down; returns the results. Without links.pool
        support in the gateway, `off` runs without the key (no pool exists then) and `on` fails."""
        with failures_recorded(self.results, self.say, PhaseError):
            try:
                self.attempt(pool_keys(self.mode, self.opts), "a")
            except PoolKeyRefused as e:
                if self.mode == "on":
                    raise SetupError(f"the gateway refused links.pool, so the pool cannot be on (a build without "
                                     f"it?):\n{e}") from None
                self.say(f"the gateway refused links.pool (a build without it: no pool exists); again without the "
                         f"key:\n{e}")
                self.results["links_pool"] = None
                self.attempt(None, "b")
        return self.results

    def attempt(self, links_keys, tag):
        """One set-up and measurement with east's `links:` map extended by `links_keys`."""
        opts = self.opts
        pair = make_pair(opts.delay_used, f"p{self.mode}{tag}", opts.delay_ms,
                         os.path.join(self.workdir, f"{self.mode}-{tag}-delayline.log"))
        root = os.path.join(self.workdir, f"{self.mode}-{tag}")
        try:
            pair.create()
            if opts.delay_used == "netem":
                pair.add_delay(opts.delay_ms)
            cluster = Cluster(pair, self.processes, root, self.meshgate, self.bench)
            try:
                write_configs(self.meshgate, self.pki, root, self.opts.io_backend, self.opts.loops, links_keys)
                port = cluster.start()
            except SetupError as e:
                if links_keys and POOL_KEY_ERROR.search(str(e)):
                    raise PoolKeyRefused(str(e)) from None
                raise
            extra = f", {links_keys}" if links_keys else ""
            self.say(f"east and west up ({pair.names['east']}, {pair.names['west']}), route {port} on east "
                     f"mirrors west's echo backend; east's links: {{dir: links/{extra}}}")
            channel = ClientChannel(cluster.start_client(CLIENT))
            self.measure(cluster, channel, port)
            channel.quit()
        finally:
            tear_down(self.processes, pair, self.say)
            line = summary_text(getattr(pair, "summary", None))
            if line:
                self.results["delay_line"] = pair.summary
                self.say(line)

    def rtt(self, channel):
        answer = channel.ask(PINGS * 3 + 5, cmd="ping", host=WEST_IP, count=PINGS, timeout=2)
        samples = answer["rtt_ms"]
        self.results["rtt_ms"] = {"samples": samples, "lost": answer["lost"],
                                  "median": statistics.median(samples) if samples else None,
                                  "p99": percentile(samples, 99), "min": min(samples, default=None),
                                  "max": max(samples, default=None)}
        r = self.results["rtt_ms"]
        lost = f", {answer['lost']} lost" if answer["lost"] else ""
        how = {"netem": "netem", "tun": "the TUN delay line", "none": "no delay"}[self.opts.delay_used]
        self.say(f"RTT east -> west by {PINGS} pings: p50 {fmt(r['median'], 2)}, p99 {fmt(r['p99'], 2)} (min "
                 f"{fmt(r['min'], 2)}, max {fmt(r['max'], 2)}) ms{lost}; {self.opts.delay_ms:g} ms each way by {how}")

    def wait_for_pool(self, channel):
        """For `on`: east's pool figures once its gateway_pool_idle is >= 1, or after --pool-wait."""
        deadline = time.monotonic() + self.opts.pool_wait
        began = time.monotonic()
        while True:
            figures = channel.ask(10, cmd="pool", admin=EAST_ADMIN)
            if figures["idle"] is not None and figures["idle"] >= 1:
                self.say(f"east's pool filled: gateway_pool_idle {figures['idle']:g} after {time.monotonic() - began:.1f} s")
                self.results["pool_filled_after_s"] = time.monotonic() - began
                return figures
            if time.monotonic() >= deadline:
                seen = "no gateway_pool_idle" if figures["idle"] is None else f"gateway_pool_idle {figures['idle']:g}"
                self.say(f"east's pool not filled within {self.opts.pool_wait:g} s ({seen} in /status"
                         f"{'' if figures['answered'] else '; the admin did not answer'}); measuring anyway")
                self.results["pool_filled_after_s"] = None
                return figures
            time.sleep(0.2)

    def measure(self, cluster, channel, port):
        opts, r = self.opts, self.results
        self.rtt(channel)
        if self.mode == "on":
            r["pool_before"] = self.wait_for_pool(channel)
        else:
            r["pool_before"] = channel.ask(10, cmd="pool", admin=EAST_ADMIN)
        rounds = -(-opts.connections // opts.concurrent)
        limit = rounds * (opts.gap + opts.timeout + 1) + 30
        self.say(f"{opts.connections} connections, {opts.concurrent} at a time, {opts.gap * 1000:g} ms apart")
        answer = channel.ask(limit, cmd="run", port=port, connections=opts.connections, concurrent=opts.concurrent,
                             gap=opts.gap, timeout=opts.timeout, payload=PAYLOAD)
        r["pool_after"] = channel.ask(10, cmd="pool", admin=EAST_ADMIN)
        r.update(succeeded=answer["succeeded"], failed=answer["failed"], failures=answer["failures"],
                 seconds=answer["seconds"], first_byte_ms=quantiles(answer["first_byte_ms"]),
                 connect_ms=quantiles(answer["connect_ms"]),
                 samples={"first_byte_ms": [round(v, 3) for v in answer["first_byte_ms"]],
                          "connect_ms": [round(v, 3) for v in answer["connect_ms"]]})
        fb, c = r["first_byte_ms"], r["connect_ms"]
        kinds = f": {answer['failures']}" if answer["failures"] else ""
        self.say(f"{answer['succeeded']}/{opts.connections} echoed ({answer['failed']} failed{kinds}) in {answer['seconds']:.1f} s; first byte "
                 f"p50/p90/p99 {fmt(fb['p50'], 2)}/{fmt(fb['p90'], 2)}/{fmt(fb['p99'], 2)} ms, connect p50/p99 "
                 f"{fmt(c['p50'], 3)}/{fmt(c['p99'], 3)} ms; east's pool hits {fmt(counters(r['pool_after'], 'gateway_pool_hits'), 0)}, "
                 f"misses {fmt(counters(r['pool_after'], 'gateway_pool_misses'), 0)}")
        dead = cluster.dead()
        if dead:
            raise PhaseError(f"the gateway of {', '.join(dead)} exited during the run")
