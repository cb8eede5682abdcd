"""The runs: backends started once and shared, then for each scenario, run and target a fresh
proxy (or chain), one meshgate-bench run against it, and the chain's TLS counters. The targets are
interleaved run by run, so a slow phase of the machine hits all of them."""

import json
import os
import re
import time
from dataclasses import dataclass

from . import counters, scenarios
from .processes import tail
from .report import fmt
from .targets import applies

# The proxy exits during a run: counted as a failed run with this status.
EXITED_DURING_RUN = 3
TIME_LIMIT_STATUS = 124
# Added to the run's duration to give each meshgate-bench command its time limit.
RUN_LIMIT_MARGIN = 90


@dataclass
class Run:
    """One scenario run against one target: meshgate-bench's JSON object and the chain's counters."""
    scenario: str
    target: str
    run: int
    result: dict
    counters: dict
    failed: bool
    status: int = 0


def start_backend(bench, behavior, threads, processes, workdir):
    """Starts a meshgate-bench backend on a free port; returns the port, or raises RuntimeError."""
    out, err = os.path.join(workdir, f"backend-{behavior}.out"), os.path.join(workdir, f"backend-{behavior}.err")
    proc = processes.launch([bench, "backend", "--listen", "127.0.0.1:0", "--behavior", behavior,
                             "--threads", str(threads)], out, err)
    for _ in range(100):
        m = re.search(r"^listening \S*:(\d+)", tail(out, 5), re.M)
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"the {behavior} backend did not start\n{tail(err, 20)}".rstrip())


def result_summary(scenario, result):
    """One line of a run's figures for its progress line, e.g. `conn/s 12,345`."""
    values = result.get("results", {})
    parts = [f"{unit} {fmt(values[key] * scale)}" for key, unit, _, scale in scenarios.METRICS[scenarios.family(scenario)]
             if key in values]
    errors = values.get(scenarios.ERRORS_KEY[scenarios.family(scenario)], 0)
    if errors:
        parts.append(f"{int(errors):,} connection errors")
    return "; ".join(parts) or "no figures"


class Runner:
    """Runs every selected scenario on every target that takes it, `opts.runs` times."""

    def __init__(self, opts, sel, starter, processes, bench, workdir, progress):
        self.opts, self.sel, self.starter, self.processes = opts, sel, starter, processes
        self.bench, self.workdir, self.progress = bench, workdir, progress
        self.run_limit = opts.duration_seconds + RUN_LIMIT_MARGIN

    def steps(self):
        """(scenario, run, target) in the order they run."""
        return [(s, r, k) for s in self.opts.scenarios for r in range(1, self.opts.runs + 1)
                for k in self.sel.kinds if applies(s, k, self.sel, self.opts.smoke)]

    def run_all(self, steps, backends):
        """Runs the steps against the backends ({behavior: port}); returns the Runs."""
        runs = []
        for number, (scenario, run, kind) in enumerate(steps, 1):
            what = f"[{number}/{len(steps)}] {scenario:<18} {kind:<9} run {run}/{self.opts.runs}"
            self.progress.run_started(what)
            began = time.monotonic()
            one = self.run_one(scenario, run, kind, backends[scenarios.behavior(scenario)])
            seconds = time.monotonic() - began
            if one.failed:
                failure = "FAILED" + (f" (exit {one.status})" if one.status >= 0 else "")
                text = "; ".join([failure] + one.result.get("errors", [])[:2])
            else:
                text = result_summary(scenario, one.result)
            self.progress.run_finished(what, f"{text} ({seconds:.1f} s)")
            runs.append(one)
        return runs

    def run_one(self, scenario, run, kind, upstream):
        """One meshgate-bench run of `scenario` against `kind`, with a fresh proxy or chain."""
        chain = scenarios.is_chain(scenario)
        port, extra, running = upstream, [], None
        if kind != "direct":
            if chain:
                running = self.starter.chain(kind, upstream, scenarios.full_handshakes(scenario))
            else:
                running = self.starter.proxy(kind, upstream)
            if not running.started:
                self.progress.say(f"{scenario}: {kind} did not start")
                self.starter.stop(running)
                return Run(scenario, kind, run, {"ok": False, "errors": ["proxy did not start"]}, {}, True, -1)
            port = running.port
            if scenarios.is_idle(scenario):
                for proc in running.procs:
                    extra += ["--pid", str(proc.pid)]
        limit = self.run_limit + (scenarios.CHAIN_IDLE_OPEN_TIMEOUT if scenario == "chain-idle" else 0)
        out, err = os.path.join(self.workdir, "run.json"), os.path.join(self.workdir, "run.err")
        command = ([self.bench] + scenarios.bench_args(scenario, self.opts.idle_connections,
                                                       self.opts.chain_idle_connections)
                   + extra + ["--target", f"127.0.0.1:{port}", "--duration", self.opts.duration,
                              "--client-threads", str(self.opts.client_threads), "--json", "--quiet"])
        status = self.processes.run_limited(command, out, err, limit)
        if running and not running.alive():
            self.progress.say(f"{scenario}: {kind} exited during the run")
            status = status or EXITED_DURING_RUN
        line = tail(out, 1).strip()
        failed = status != 0 or not line
        if failed:
            why = f"exit {status}" + (", time limit" if status == TIME_LIMIT_STATUS else "")
            self.progress.say(f"{scenario} against {kind} failed ({why}): {' '.join(tail(err, 3).split())}")
        result = self.parse(line)
        found = {}
        if running and chain and kind != "meshgate":
            found = counters.of_chain(running)
        if running:
            self.starter.stop(running)
        if running and chain and kind == "meshgate":
            found = counters.of_chain(running)
        return Run(scenario, kind, run, result, found, failed, status)

    @staticmethod
    def parse(line):
        """meshgate-bench's JSON line as an object (a failed run when there is none)."""
        if not line:
            return {"ok": False, "errors": ["no output"]}
        try:
            obj = json.loads(line)
        except ValueError:
            return {"ok": False, "errors": ["unparsable output"]}
        return obj if isinstance(obj, dict) else {"ok": False, "errors": ["unparsable output"]}


def backend_ports(opts, bench, processes, workdir):
    """Starts one backend per behaviour the scenarios need; {behavior: port}."""
    needed = []
    for s in opts.scenarios:
        if scenarios.behavior(s) not in needed:
            needed.append(scenarios.behavior(s))
    return {b: start_backend(bench, b, opts.backend_threads, processes, workdir) for b in needed}
