"""Command-line options of scripts/bench-pool and the --smoke preset."""

import argparse
import sys

MODES = ("off", "on")
DELAY_METHODS = ("auto", "netem", "tun")

DESCRIPTION = """\
Time to first byte through a mirrored route, with and without the warm pool (issue 15 §3): east
and west gateways in two network namespaces joined by a link delayed --delay-ms each way (10 ms
RTT by default: a veth with `tc netem` on both ends or, without the kernel's sch_netem, a TUN
device in each namespace with a user-space delay line between them), a mirrored route on east to
an echo backend in west, and a client in east opening --connections connections one after the
other (or --concurrent at a time), --gap apart. Each connects to the route's local listener, sends
32 bytes, reads them back and closes; the time from the start of connect() to the first byte back
is measured (and connect() alone). Two modes, each with fresh gateways: off (links.pool idle 0)
and on (links.pool idle --idle, maxAge --max-age). Reports p50/p90/p99 per mode and the saving
(off - on) at p50 and p99 in ms and in measured RTTs, against the target: the pool saves >= 1 RTT
at p50 and at p99. Needs root, iproute2 and python3, and the kernel's sch_netem or /dev/net/tun.
MESHGATE_BIN / MESHGATE_BENCH_BIN name the binaries (default: the debug build, `swift build
--show-bin-path`). See docs/benchmarks.md."""

EPILOG = """\
Exit status: 0 when both modes ran (even when the target is missed), 1 when a mode failed (and,
with --smoke, when any connection failed), 2 when it cannot run (not root, neither netem nor TUN
usable, a binary missing, a bad option). Progress lines go to stderr, the table to stdout.
--smoke: 20 connections per mode (CI, well under 30 s)."""


class UsageError(Exception):
    """An option value the script refuses."""


def parser():
    p = argparse.ArgumentParser(prog="scripts/bench-pool", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--connections", type=int, default=200, help="connections per mode (default: %(default)s)")
    p.add_argument("--concurrent", type=int, default=1,
                   help="clients started together in each round; more than --idle empties the pool "
                        "(default: %(default)s)")
    p.add_argument("--gap", type=float, default=0.05,
                   help="seconds between one round's end and the next's start, for the pool to refill "
                        "(default: %(default)s)")
    p.add_argument("--timeout", type=float, default=5.0,
                   help="seconds one connection may take from connect to its whole echo (default: %(default)s)")
    p.add_argument("--delay-ms", type=float, default=5.0,
                   help="delay added each way between east and west, ms (RTT = twice this); 0: no delay "
                        "(default: %(default)s)")
    p.add_argument("--delay-method", default="auto", choices=DELAY_METHODS,
                   help="how the delay is made: netem (tc netem on both ends of a veth), tun (a user-space "
                        "delay line between TUN devices, for kernels without sch_netem) or auto (netem when "
                        "the kernel has it, else tun) (default: %(default)s)")
    p.add_argument("--idle", type=int, default=4, help="links.pool.idle of the 'on' mode (default: %(default)s)")
    p.add_argument("--max-age", default="60s", help="links.pool.maxAge of the 'on' mode (default: %(default)s)")
    p.add_argument("--pool-wait", type=float, default=10.0,
                   help="seconds the 'on' mode waits for east to report a filled pool (default: %(default)s)")
    p.add_argument("--modes", default=",".join(MODES), help="modes, comma separated (default: %(default)s)")
    p.add_argument("--io-backend", default="epoll", choices=("epoll", "uring"),
                   help="the gateways' ioBackend (default: %(default)s)")
    p.add_argument("--loops", type=int, default=1, help="event loops of each gateway (default: %(default)s)")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--keep", action="store_true", help="keep the work folder (configs, PKI, logs) and print its path")
    p.add_argument("--smoke", action="store_true", help="a short run: 20 connections per mode")
    return p


def parse(argv=None):
    """The checked options; UsageError for values out of range."""
    p = parser()
    opts = p.parse_args(argv)
    given = set(a.split("=")[0] for a in (sys.argv[1:] if argv is None else argv))
    if opts.smoke and "--connections" not in given:
        opts.connections = 20
    opts.modes = [m.strip() for m in opts.modes.split(",") if m.strip()]
    bad = [m for m in opts.modes if m not in MODES]
    if bad or not opts.modes:
        raise UsageError(f"--modes: {','.join(bad) or 'empty'} (choose from {','.join(MODES)})")
    if not 1 <= opts.connections <= 100000:
        raise UsageError("--connections must be 1..100000")
    if not 1 <= opts.concurrent <= 512:
        raise UsageError("--concurrent must be 1..512")
    if opts.gap < 0 or opts.timeout <= 0 or opts.pool_wait < 0:
        raise UsageError("--gap and --pool-wait must be >= 0, --timeout > 0")
    if not 0 <= opts.delay_ms <= 1000:
        raise UsageError("--delay-ms must be 0..1000")
    if not 1 <= opts.idle <= 64 or not 1 <= opts.loops <= 64:
        raise UsageError("--idle must be 1..64 and --loops 1..64")
    return opts
