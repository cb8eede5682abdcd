"""Child processes of a bench-compare run: start them with a log, wait until they listen, stop
them (TERM, then KILL after 5 s), and stop every one still running when the script exits."""

import os
import shutil
import socket
import subprocess
import time


def free_ports(count):
    """`count` distinct free TCP ports on 127.0.0.1 (bound together, then released)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def is_listening(port):
    """Whether a socket listens on `port`, from /proc/net/tcp{,6} (state 0A) or else `ss`.

    It never connects: a test connection would count in a proxy's counters and make a chain's
    originating side start a TLS handshake."""
    tables = [p for p in ("/proc/net/tcp", "/proc/net/tcp6") if os.path.exists(p)]
    if tables:
        wanted = f":{port:04X}"
        for path in tables:
            with open(path) as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 3 and fields[3] == "0A" and fields[1].endswith(wanted):
                        return True
        return False
    if shutil.which("ss"):
        out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
        return bool(out.strip())
    return False


def tail(path, lines):
    """The last `lines` lines of a file ('' when it cannot be read)."""
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


class Processes:
    """The processes this run started; `stop_all` ends the ones still running."""

    def __init__(self):
        self.running = []

    def launch(self, command, stdout_path, stderr_path=None):
        """Starts `command` with its output in files (stderr joins stdout without a path of its own)."""
        out = open(stdout_path, "w")
        err = open(stderr_path, "w") if stderr_path else subprocess.STDOUT
        try:
            proc = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        finally:
            out.close()
            if stderr_path:
                err.close()
        self.running.append(proc)
        return proc

    def stop(self, proc):
        """TERM, up to 5 s to exit, then KILL; forgets the process."""
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc in self.running:
            self.running.remove(proc)

    def stop_all(self):
        """Stops every process still known, newest first."""
        for proc in reversed(list(self.running)):
            self.stop(proc)

    def run_limited(self, command, stdout_path, stderr_path, limit):
        """Runs `command` to its end within `limit` seconds (then TERM, KILL 5 s later, like
        timeout -k 5); returns its exit status, 124 when the limit ended it."""
        proc = self.launch(command, stdout_path, stderr_path)
        try:
            status = proc.wait(limit)
        except subprocess.TimeoutExpired:
            status = 124
        self.stop(proc)
        return status


def wait_listening(proc, port, log, say):
    """True once something listens on `port`; False (after `say`ing why, with the log's tail) when
    `proc` exits first or 10 s pass."""
    for _ in range(100):
        if proc.poll() is not None:
            say(f"process {proc.pid} exited before listening on {port}; its log:\n{tail(log, 20)}".rstrip())
            return False
        if is_listening(port):
            return True
        time.sleep(0.1)
    say(f"nothing listening on {port} after 10 s; log:\n{tail(log, 20)}".rstrip())
    return False
