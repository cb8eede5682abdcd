"""East and west joined by the TUN delay line instead of a veth with netem (for kernels without
sch_netem): a `TunPair` is bench-scale's `Pair` (same names, addresses, sysctls, removal) whose link
is a TUN device `mgd0` in each namespace — east's with 10.63.0.1, west's with 10.63.0.2, each a
point-to-point /32 to the other, MTU 1500 — and a delay line process (delayline.py, in the root
namespace) that carries every packet from one to the other after the delay. `remove()` ends the
delay line first (it also ends by itself when this process dies) and keeps its summary."""

import json
import os
import select
import subprocess
import sys

from benchcompare.processes import tail
from benchscale.netns import EAST_IP, SYSCTLS, WEST_IP, NetnsError, Pair, run

DELAYLINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "delayline.py")
DEVICE = "mgd0"
MTU = 1500
READY_WITHIN = 10


class TunPair(Pair):
    """East and west linked by TUN devices and the delay line (`delay_ms` each way)."""

    def __init__(self, tag, delay_ms, log):
        super().__init__(tag)
        self.delay_ms, self.log = delay_ms, log
        self.line = None
        self.summary = None

    def create(self):
        """Both namespaces with their TUN device addressed and up, the sysctls, and the delay line
        attached to both devices (NetnsError when any step fails)."""
        for name in self.names.values():
            run("ip", "netns", "add", name)
            self.made.append(name)
            run("ip", "-n", name, "link", "set", "lo", "up")
        for name, local, peer in ((self.names["east"], EAST_IP, WEST_IP), (self.names["west"], WEST_IP, EAST_IP)):
            run("ip", "-n", name, "tuntap", "add", "dev", DEVICE, "mode", "tun")
            run("ip", "-n", name, "addr", "add", f"{local}/32", "peer", f"{peer}/32", "dev", DEVICE)
            run("ip", "-n", name, "link", "set", DEVICE, "mtu", str(MTU), "up")
            for key, value in SYSCTLS.items():
                run("ip", "netns", "exec", name, "sysctl", "-qw", f"{key}={value}")
        self.start_line()

    def start_line(self):
        with open(self.log, "w") as err:
            self.line = subprocess.Popen(
                [sys.executable, "-B", DELAYLINE, "--delay-ms", f"{self.delay_ms:g}", "--dev", DEVICE,
                 self.names["east"], self.names["west"]],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        ready, _, _ = select.select([self.line.stdout], [], [], READY_WITHIN)
        if not ready or self.line.stdout.readline().strip() != b"ready":
            self.stop_line()
            raise NetnsError(f"the TUN delay line did not attach within {READY_WITHIN} s:\n{tail(self.log, 5)}".rstrip())

    def add_delay(self, milliseconds):
        """Nothing to add: the delay line delays by the `delay_ms` it was made with."""
        if milliseconds != self.delay_ms:
            raise NetnsError(f"the TUN delay line delays by {self.delay_ms:g} ms, not {milliseconds:g} ms")

    def stop_line(self):
        """Ends the delay line (end of its stdin, TERM, KILL after 3 s) and reads its summary."""
        line, self.line = self.line, None
        if line is None:
            return
        try:
            line.stdin.close()
        except OSError:
            pass
        if line.poll() is None:
            line.terminate()
        try:
            line.wait(3)
        except subprocess.TimeoutExpired:
            line.kill()
            line.wait()
        line.stdout.close()
        last = tail(self.log, 1).strip()
        try:
            self.summary = json.loads(last) if last.startswith("{") else None
        except ValueError:
            self.summary = None

    def remove(self):
        """Ends the delay line, then deletes the namespaces (their TUN devices go with them)."""
        self.stop_line()
        return super().remove()


def make_pair(method, tag, delay_ms, log):
    """A Pair linked by a veth (netem delays it later, or nothing for delay 0) or a TunPair."""
    return TunPair(tag, delay_ms, log) if method == "tun" and delay_ms > 0 else Pair(tag)


def summary_text(summary):
    """The delay line's summary in words (None without one)."""
    if not summary:
        return None
    late = summary.get("late_ms") or {}

    def ms(v):
        return "-" if v is None else f"{v:.3f}"

    return (f"delay line: {summary['forwarded'][0]} packets east -> west, {summary['forwarded'][1]} west -> east, "
            f"{summary['dropped']} dropped; writes late by p50/p99/max {ms(late.get('p50'))}/{ms(late.get('p99'))}/"
            f"{ms(late.get('max'))} ms")

