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
