"""What bench-scale and bench-pool share around their runs: one work folder and PKI for a
sequence of runs (processes stopped and the folder removed on every exit), and a run's failures
recorded in its results instead of raised."""
import contextlib
import os
import shutil
import tempfile

from benchcompare.processes import Processes

from .cluster import SetupError, make_pki
from .netns import NetnsError


def preflight(argv, options, what, cannot_run):
    """The checks before a run: the options, root, iproute2/procps and the binaries. Returns
    (opts, (meshgate, meshgate-bench)) or (None, the status of `cannot_run(why)`, the harness's
    own). `what` names what the harness creates, for the not-root message."""
    from .cli import binaries  # cli imports this module
    try:
        opts = options.parse(argv)
    except options.UsageError as e:
        return None, cannot_run(str(e))
    if os.geteuid() != 0:
        return None, cannot_run(f"needs root (it creates {what}); run it as root")
    for tool in ("ip", "sysctl"):
        if not shutil.which(tool):
            return None, cannot_run(f"{tool} is missing (install iproute2/procps: scripts/bootstrap)")
    found, why = binaries()
    if not found:
        return None, cannot_run(why)
    return opts, found


def tear_down(processes, pair, say):
    """Stops a run's processes and deletes its namespaces, saying which would not go."""
    from .phases import stop_together  # phases imports this module
    stop_together(processes)
    stayed = pair.remove()
    if stayed:
        say(f"could not delete namespaces {' '.join(stayed)}")


def run_each(prefix, binary, keep, say, items, label, make_run):
    """`make_run(item, pki, workdir, processes).run()` for each of `items` in turn, in a fresh work
    folder (`prefix`) with one PKI made by `binary`; says `<label(item)>: load ...` before each.
    Returns (results, exit status or None): 1 when the PKI could not be made, 130 on Ctrl-C."""
    from .cli import load  # cli imports this module
    workdir = tempfile.mkdtemp(prefix=prefix)
    os.chmod(workdir, 0o755)
    processes = Processes()
    results = []
    try:
        try:
            pki = make_pki(binary, workdir)
        except SetupError as e:
            say(str(e))
            return results, 1
        for item in items:
            say(f"{label(item)}: load {load()}")
            results.append(make_run(item, pki, workdir, processes).run())
    except KeyboardInterrupt:
        say("interrupted")
        return results, 130
    finally:
        processes.stop_all()
        if keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return results, None


@contextlib.contextmanager
def failures_recorded(results, say, *expected):
    """Catches a run's failure: `results["error"]` says what failed and `say` reports it. `expected`
    are the harness's own error types (with NetnsError and SetupError); an answer or a file not as
    expected (KeyError, TypeError, ValueError, OSError) is recorded with its type."""
    try:
        yield
    except (NetnsError, SetupError, *expected) as e:
        results["error"] = str(e)
        say(f"FAILED: {e}")
    except (KeyError, TypeError, ValueError, OSError) as e:
        results["error"] = f"{type(e).__name__}: {e}"
        say(f"FAILED: {results['error']}")
