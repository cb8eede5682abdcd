"""main(): options, binaries, targets, backends, the runs, the summary, the JSON and the chart.

Exit status: 0 when every run succeeded, 1 when a scenario failed (or a chain's TLS check), 2 for
a usage error or a missing binary, 130 when interrupted. Every process started is stopped on exit."""

import os
import shutil
import signal
import sys
import tempfile
import time

from . import binaries, chart, options, report
from .processes import Processes
from .progress import Progress
from .runner import Runner, backend_ports
from .targets import Starter, make_pki, select

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def interrupted(_signum, _frame):
    """SIGTERM ends the run like Ctrl-C: processes stopped, exit 130."""
    raise KeyboardInterrupt


def main(argv=None):
    """Runs bench-compare; returns the exit status."""
    os.chdir(REPO)
    try:
        opts = options.parse(argv)
    except options.UsageError as e:
        options.die(str(e))
    if opts.chart:
        try:
            chart.pyplot()
        except chart.ChartError as e:
            options.die(str(e))
    if opts.chart_from:
        try:
            chart.draw_from_file(opts.chart_from, opts.chart)
        except chart.ChartError as e:
            options.die(str(e))
        print(f"bench-compare: wrote {opts.chart}")
        return 0
    signal.signal(signal.SIGTERM, interrupted)
    processes = Processes()
    workdir = tempfile.mkdtemp(prefix="bench-compare.")
    try:
        return run(opts, processes, workdir)
    except KeyboardInterrupt:
        return 130
    finally:
        processes.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)


def run(opts, processes, workdir):
    """Everything between the options and the cleanup."""
    progress = Progress()
    bench = binaries.bench(progress.say)
    if not bench:
        options.die("meshgate-bench not found at '{}'".format(
            os.environ.get("MESHGATE_BENCH") or os.environ.get("MESHGATE_BENCH_BIN") or ".build/release/meshgate-bench"))
    sel = select(opts, progress.note)
    if not sel.kinds:
        options.die("no targets to run")
    pki = None
    if opts.has_chain:
        try:
            pki = make_pki(os.path.join(workdir, "pki"))
        except RuntimeError as e:
            options.die(str(e))
    runner = Runner(opts, sel, Starter(opts, sel, processes, workdir, pki, progress.say), processes, bench,
                    workdir, progress)
    steps = runner.steps()
    if not steps:
        options.die("no scenario runs on the selected targets")
    try:
        backends = backend_ports(opts, bench, processes, workdir)
    except RuntimeError as e:
        options.die(str(e))
    t0 = time.monotonic()
    runs = runner.run_all(steps, backends)

    summary = report.Summary(runs, sel.kinds, progress.notes, opts.settings(), opts.smoke)
    summary.print_all()
    failed = any(r.failed for r in runs) or summary.check_failed
    doc = summary.document(opts.scenarios, failed)
    if opts.json_out:
        report.write_json(doc, opts.json_out)
    chart_failed = False
    if opts.chart:
        try:
            chart.draw(doc, opts.chart)
            print(f"bench-compare: wrote {opts.chart}")
        except chart.ChartError as e:
            progress.say(str(e))
            chart_failed = True
    sys.stdout.flush()
    progress.say(f"finished in {time.monotonic() - t0:.0f} s")
    if summary.check_failed:
        progress.say("a TLS check of the chain failed (see the notes)")
    if failed:
        progress.say("some scenarios failed (see above)")
        return 1
    return 1 if chart_failed else 0
