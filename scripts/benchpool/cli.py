"""main(): checks (root, tools, binaries, the delay: netem, else the TUN delay line), the PKI, one
run per mode (off, then on), the table and the JSON. Everything started — processes, namespaces,
the veth or the TUN delay line — is removed on every exit; the work folder too unless --keep."""

import datetime
import os
import shutil
import signal
import sys
import tempfile

from benchscale.cli import interrupted, load
from benchscale.runs import preflight, run_each
from benchscale.netns import NetnsError, Pair

from . import options, report
from .modes import ModeRun
from .tunlink import TunPair


def say(message):
    """One progress line on standard error."""
    print(f"bench-pool: {message}", file=sys.stderr, flush=True)


def cannot_run(message):
    say(message)
    return 2


def netem_missing(delay_ms):
    """Why a netem delay cannot be set up (tc missing, the kernel without sch_netem), else None.
    Tries it on a throw-away pair of namespaces."""
    if not shutil.which("tc"):
        return "tc is missing (install iproute2: scripts/bootstrap)"
    if shutil.which("modprobe"):
        os.system("modprobe sch_netem >/dev/null 2>&1")
    probe = Pair("netem")
    try:
        probe.create()
        probe.add_delay(delay_ms)
    except NetnsError as e:
        return f"cannot delay the veth with tc netem ({e}); the kernel needs sch_netem (`modprobe sch_netem`)"
    finally:
        probe.remove()
    return None


def tun_missing(delay_ms):
    """Why the TUN delay line cannot be set up (no /dev/net/tun, ...), else None. Tries it on a
    throw-away pair of namespaces."""
    if not os.path.exists("/dev/net/tun"):
        return "/dev/net/tun is missing (`modprobe tun`)"
    with tempfile.NamedTemporaryFile(prefix="bench-pool-probe.", suffix=".log") as log:
        probe = TunPair("tun", delay_ms, log.name)
        try:
            probe.create()
        except NetnsError as e:
            return f"cannot make the TUN delay line ({e})"
        finally:
            probe.remove()
    return None


def delay_method(opts):
    """(the method used: "netem", "tun" or "none" for --delay-ms 0, None) or (None, why it cannot run).
    auto takes netem when the kernel has it, else the TUN delay line."""
    if opts.delay_ms == 0:
        return "none", None
    if opts.delay_method in ("auto", "netem"):
        why_netem = netem_missing(opts.delay_ms)
        if not why_netem:
            return "netem", None
        if opts.delay_method == "netem":
            return None, why_netem + "; or run with --delay-method tun (or --delay-ms 0 for no delay)"
        say(f"{why_netem}: delaying with the TUN delay line instead")
    why_tun = tun_missing(opts.delay_ms)
    if why_tun:
        return None, why_tun + " (or run with --delay-ms 0 for no delay)"
    return "tun", None


def delay_words(opts):
    """How the link is delayed, for the progress lines and the header."""
    return {"netem": f"netem {opts.delay_ms:g} ms each way", "tun": f"TUN delay line {opts.delay_ms:g} ms each way",
            "none": "no delay"}[opts.delay_used]


def main(argv=None):
    """Runs bench-pool; returns the exit status."""
    opts, found = preflight(argv, options, "network namespaces, a veth pair and netem qdiscs or TUN devices", cannot_run)
    if opts is None:
        return found
    signal.signal(signal.SIGTERM, interrupted)
    try:
        opts.delay_used, why = delay_method(opts)
    except KeyboardInterrupt:
        return 130
    if why:
        return cannot_run(why)
    started = datetime.datetime.now(datetime.timezone.utc)
    say(f"{found[0]}; {opts.connections} connections per mode, {opts.concurrent} at a time, {opts.gap * 1000:g} ms "
        f"apart; {delay_words(opts)}; pool on = idle {opts.idle}, maxAge {opts.max_age}; "
        f"ioBackend {opts.io_backend}, {opts.loops} loop(s); modes {','.join(opts.modes)}; load {load()}")
    results, status = run_each("bench-pool.", found[0], opts.keep, say, opts.modes, lambda mode: f"pool {mode}",
                               lambda mode, pki, workdir, processes: ModeRun(mode, opts, found, pki, workdir, processes, say))
    if status is not None:
        return status
    header = (f"bench-pool: {opts.connections} connections per mode, {opts.concurrent} at a time, "
              f"{opts.gap * 1000:g} ms apart, {delay_words(opts)} (RTT "
              f"{report.fmt(report.measured_rtt(results), 2)} ms), {started:%Y-%m-%d %H:%M} UTC, load {load()}")
    print(report.table(results, header))
    if opts.json:
        report.write_json(opts.json, {"date": started.isoformat(), "argv": sys.argv, "meshgate": found[0],
                                      "meshgate_bench": found[1], "options": vars(opts), "load_after": load()},
                          results)
        say(f"wrote {opts.json}")
    if opts.smoke and report.failures(results):
        # The smoke run (CI) judges no figure but this one: every connection must be echoed.
        say("smoke: connections failed (see the table)")
        return 1
    return 1 if any(r["error"] for r in results) else 0
