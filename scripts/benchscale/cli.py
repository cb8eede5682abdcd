"""main(): checks (root, tools, binaries), the descriptor limit, the PKI, one run per io backend,
the table and the JSON. Everything started — processes, namespaces, the veth — is removed on every
exit; the work folder too unless --keep."""

import datetime
import os
import resource
import signal
import subprocess
import sys


from . import options, report
from .phases import BackendRun
from .runs import preflight, run_each

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def say(message):
    """One progress line on standard error."""
    print(f"bench-scale: {message}", file=sys.stderr, flush=True)


def cannot_run(message):
    say(message)
    return 2


def interrupted(_signum, _frame):
    raise KeyboardInterrupt


def executable(path):
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


def binaries():
    """(meshgate, meshgate-bench) as absolute paths: $MESHGATE_BIN, else the debug build's; and
    $MESHGATE_BENCH_BIN, else meshgate-bench next to meshgate. None with a reason when missing."""
    meshgate = os.environ.get("MESHGATE_BIN", "")
    if not meshgate:
        try:
            bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], capture_output=True, text=True, cwd=REPO,
                                     timeout=120).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            bin_dir = ""
        meshgate = os.path.join(bin_dir, "meshgate") if bin_dir else ""
    meshgate = os.path.abspath(meshgate) if meshgate else ""
    bench = os.environ.get("MESHGATE_BENCH_BIN", "") or os.path.join(os.path.dirname(meshgate), "meshgate-bench")
    bench = os.path.abspath(bench)
    for path in (meshgate, bench):
        if not executable(path):
            return None, f"{path or 'meshgate'} is not an executable (build it, or set MESHGATE_BIN / MESHGATE_BENCH_BIN)"
    return (meshgate, bench), None


def raise_descriptor_limit():
    """The soft RLIMIT_NOFILE raised to the hard one (the children inherit it); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def load():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def main(argv=None):
    """Runs bench-scale; returns the exit status."""
    opts, found = preflight(argv, options, "network namespaces and a veth pair", cannot_run)
    if opts is None:
        return found
    limit = raise_descriptor_limit()
    needed = 2 * opts.connections + 200
    if limit < needed:
        return cannot_run(f"the descriptor limit is {limit}; {opts.connections} connections need about {needed} "
                          f"in each gateway (raise the hard limit or lower --connections)")
    signal.signal(signal.SIGTERM, interrupted)
    started = datetime.datetime.now(datetime.timezone.utc)
    say(f"{found[0]}; {opts.connections} connections, burst {opts.burst} in {opts.burst_window:g} s, steady "
        f"{opts.steady:g} s with {opts.active_share:.0%} active; backends {','.join(opts.backends)}; "
        f"RLIMIT_NOFILE {limit}; load {load()}")
    results, status = run_each("bench-scale.", found[0], opts.keep, say, opts.backends, lambda backend: backend,
                               lambda backend, pki, workdir, processes: BackendRun(backend, opts, found, pki, workdir, processes, say))
    if status is not None:
        return status
    header = (f"bench-scale: {opts.connections} connections, burst {opts.burst} in {opts.burst_window:g} s, "
              f"steady {opts.steady:g} s, {started:%Y-%m-%d %H:%M} UTC, load {load()}")
    print(report.table(results, header))
    if opts.json:
        report.write_json(opts.json, {"date": started.isoformat(), "argv": sys.argv, "meshgate": found[0],
                                      "meshgate_bench": found[1], "options": vars(opts), "load_after": load()},
                          results)
        say(f"wrote {opts.json}")
    if opts.smoke and any(report.failures(r) for r in results if "burst" in r):
        # The smoke run (CI) judges no figure but this one: every connection must be proven.
        say("smoke: connections failed (see the table)")
        return 1
    return 1 if any(r["error"] for r in results) else 0
