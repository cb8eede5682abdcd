"""Command-line options of scripts/bench-scale and the --smoke preset."""

import argparse

BACKENDS = ("uring", "epoll")
# Each held connection costs the east and west gateways two descriptors each; the hard limit
# here is 20,000 per process, of which the gateway keeps 1 % for its control plane.
MAX_CONNECTIONS = 9500

DESCRIPTION = """\
Many connections through linked gateways (issue 15 §5): east and west gateways in two network
namespaces joined by a veth, a mirrored route on east to an echo backend in west, and a client in
east that opens a burst of new connections, grows to --connections held, keeps 1 % of them busy
while the rest idle, and closes them all at once — on each io backend. Every connection is proven
by a ping-pong checked by SHA-256. Reports failures, connect and first-byte p50/p99 of the burst,
each gateway's RSS per held connection, the steady ping-pong rate and p99, and the close-all time,
against the targets (0 failures, <= 8 KiB per connection per gateway, close all <= 1 s).
Needs root, iproute2 and python3. MESHGATE_BIN / MESHGATE_BENCH_BIN name the binaries (default:
the debug build, `swift build --show-bin-path`). See docs/benchmarks.md."""

EPILOG = """\
Exit status: 0 when every phase ran (even when a target is missed), 1 when a phase failed (and,
with --smoke, when any connection failed), 2 when it cannot run (not root, a tool or binary
missing, a bad option). Progress lines go to stderr,
the table to stdout. --smoke: 300 connections, a burst of 200, 2 s steady (about 30 s for both
backends)."""


class UsageError(Exception):
    """An option value the script refuses."""


def parser():
    p = argparse.ArgumentParser(prog="scripts/bench-scale", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backends", default=",".join(BACKENDS), help="io backends, comma separated (default: %(default)s)")
    p.add_argument("--connections", type=int, default=9000, help="connections to hold (default: %(default)s)")
    p.add_argument("--burst", type=int, default=5000, help="new connections in the burst (default: %(default)s)")
    p.add_argument("--burst-window", type=float, default=2.0,
                   help="seconds over which the burst's start times are spread (default: %(default)s)")
    p.add_argument("--steady", type=float, default=10.0, help="seconds of the steady phase (default: %(default)s)")
    p.add_argument("--active-share", type=float, default=0.01,
                   help="share of the held connections busy in the steady phase (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds one connection may take to open and echo, or one ping-pong (default: %(default)s)")
    p.add_argument("--close-timeout", type=float, default=30.0,
                   help="seconds to wait for the gateways to report the connections closed (default: %(default)s)")
    p.add_argument("--open-concurrency", type=int, default=256,
                   help="connections being opened at once while growing past the burst (default: %(default)s)")
    p.add_argument("--settle", type=float, default=1.0,
                   help="seconds between holding all connections and reading RSS (default: %(default)s)")
    p.add_argument("--loops", type=int, default=2, help="event loops of each gateway (default: %(default)s)")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--keep", action="store_true", help="keep the work folder (configs, PKI, logs) and print its path")
    p.add_argument("--smoke", action="store_true", help="a short run: 300 connections, burst 200, 2 s steady")
    return p


def parse(argv=None):
    """The checked options; UsageError for values out of range."""
    p = parser()
    opts = p.parse_args(argv)
    if opts.smoke:
        given = set(a.split("=")[0] for a in (argv or []))
        for flag, attr, value in (("--connections", "connections", 300), ("--burst", "burst", 200),
                                  ("--steady", "steady", 2.0)):
            if flag not in given:
                setattr(opts, attr, value)
    opts.backends = [b.strip() for b in opts.backends.split(",") if b.strip()]
    bad = [b for b in opts.backends if b not in BACKENDS]
    if bad or not opts.backends:
        raise UsageError(f"--backends: {','.join(bad) or 'empty'} (choose from {','.join(BACKENDS)})")
    if not 1 <= opts.connections <= MAX_CONNECTIONS:
        raise UsageError(f"--connections must be 1..{MAX_CONNECTIONS}")
    if not 1 <= opts.burst <= opts.connections:
        raise UsageError("--burst must be 1..--connections")
    for name in ("burst_window", "steady", "timeout", "close_timeout", "settle"):
        if getattr(opts, name) < 0 or (name in ("timeout", "close_timeout") and getattr(opts, name) == 0):
            raise UsageError(f"--{name.replace('_', '-')} must be positive")
    if not 0 < opts.active_share <= 1:
        raise UsageError("--active-share must be in (0, 1]")
    if opts.open_concurrency < 1 or not 1 <= opts.loops <= 64:
        raise UsageError("--open-concurrency must be >= 1 and --loops 1..64")
    return opts
