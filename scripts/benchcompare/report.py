"""The summary: one table of medians per family (plain, mTLS chain) with the ratios, the chain's
targets, the notes, and the results JSON (--json)."""

import json
import statistics

from . import scenarios, tlscheck

PLAIN_COLUMNS = ["direct", "meshgate", "haproxy"]
PLAIN_RATIOS = [("meshgate", "haproxy"), ("meshgate", "direct")]
CHAIN_COLUMNS = ["direct", "meshgate", "haproxy", "envoy"]
CHAIN_RATIOS = [("meshgate", "haproxy"), ("meshgate", "envoy"), ("meshgate", "direct")]
CHAIN_TITLE = "bench-compare: mTLS chain (client → originating proxy → terminating proxy → backend), "
# The targets of the chain scenarios (the mTLS milestone): (scenario, metric, other, op, bound) on
# the ratio meshgate/other of this run's medians.
GOALS = [("chain-throughput1", "gbps", "haproxy", ">=", 1.0), ("chain-throughput1", "gbps", "envoy", ">=", 1.0),
         ("chain-throughput16", "gbps", "haproxy", ">=", 1.0), ("chain-throughput16", "gbps", "envoy", ">=", 1.0),
         ("chain-connrate", "conn_per_s", "haproxy", ">=", 1.0),
         ("chain-pingpong1", "p99_us", "haproxy", "<=", 1.0), ("chain-pingpong16", "p99_us", "haproxy", "<=", 1.0),
         ("chain-idle", "rss_per_conn_bytes", "haproxy", "<=", 0.5)]
# Targets across scenarios (issue 15): (scenario, metric, other target, other scenario, op, bound) on
# meshgate's median in `scenario` divided by the other target's median in `other scenario`: full
# handshakes at Envoy's rate, and resumed ones at three times Envoy's full-handshake rate.
CROSS_GOALS = [("chain-connrate", "conn_per_s", "envoy", "chain-connrate", ">=", 1.0),
               ("chain-connrate-resumed", "conn_per_s", "envoy", "chain-connrate", ">=", 3.0)]


def fmt(v):
    """A table value: thousands separators from 100 on, three significant digits below 10."""
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"


def ratio(a, b):
    """a / b, or None when either is missing or b is 0."""
    return a / b if a is not None and b not in (None, 0) else None


def fmt_ratio(r):
    """A ratio cell."""
    return "-" if r is None else f"{r:.2f}"


class Summary:
    """The runs grouped by (scenario, target), in the order they ran."""

    def __init__(self, runs, kinds, notes, settings, smoke):
        self.kinds, self.notes, self.settings, self.smoke = kinds, list(notes), settings, smoke
        self.results, self.counters, self.order = {}, {}, []
        self.run_numbers = {}
        for r in runs:
            self.results.setdefault((r.scenario, r.target), []).append(r.result)
            self.counters.setdefault((r.scenario, r.target), []).append(r.counters)
            self.run_numbers.setdefault((r.scenario, r.target), []).append(r.run)
            if r.scenario not in self.order:
                self.order.append(r.scenario)
        self.check_failed = False
        self.rows = []

    def median(self, scenario, kind, key, scale):
        """Median of one metric over the successful runs, or None."""
        vals = [r["results"][key] * scale for r in self.results.get((scenario, kind), [])
                if r.get("ok") and key in r.get("results", {})]
        return statistics.median(vals) if vals else None

    def collect_notes(self):
        """Failed runs, connection errors and the chains' TLS checks, as notes."""
        for s in self.order:
            ek = scenarios.ERRORS_KEY[scenarios.family(s)]
            for k in self.kinds:
                results = self.results.get((s, k), [])
                bad = [r for r in results if not r.get("ok")]
                errs = sum(r.get("results", {}).get(ek, 0) for r in results)
                if bad:
                    self.notes.append(f"{s} / {k}: {len(bad)} run(s) failed: {'; '.join(bad[0].get('errors', [])[:2])}")
                elif errs:
                    self.notes.append(f"{s} / {k}: {int(errs)} connection errors over all runs")
        for s in self.order:
            if not scenarios.is_chain(s):
                continue
            for k in self.kinds:
                if k == "direct" or (s, k) not in self.counters:
                    continue
                notes, failed = tlscheck.check(s, k, self.counters[(s, k)])
                self.notes += notes
                self.check_failed |= failed

    def table(self, chosen, columns, ratio_cols, title):
        """Prints one table of medians and ratios; returns its rows."""
        rows = []
        for s in chosen:
            for key, unit, better, scale in scenarios.METRICS[scenarios.family(s)]:
                row = {"scenario": s, "metric": key, "unit": unit, "better": better}
                for k in columns:
                    row[k] = self.median(s, k, key, scale) if k in self.kinds else None
                if all(row[k] is None for k in columns):
                    continue
                for a, b in ratio_cols:
                    row[f"{a}/{b}"] = ratio(row[a], row[b])
                rows.append(row)
        headers = ["scenario", "metric (better)"] + columns + [f"{a}/{b}" for a, b in ratio_cols]
        cells = [[r["scenario"], f'{r["unit"]} ({r["better"]})'] + [fmt(r[k]) for k in columns]
                 + [fmt_ratio(r[f"{a}/{b}"]) for a, b in ratio_cols] for r in rows]
        widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)]

        def line(cs):
            return " | ".join(c.ljust(widths[i]) if i < 2 else c.rjust(widths[i]) for i, c in enumerate(cs))
        print()
        print(title)
        print(line(headers))
        print("-+-".join("-" * w for w in widths))
        for c in cells:
            print(line(c))
        return rows

    def goals(self, rows):
        """Prints the chain's targets, each met or MISSED (not judged in --smoke)."""
        lines = []
        for s, key, other, op, bound in GOALS:
            row = next((r for r in rows if r["scenario"] == s and r["metric"] == key), None)
            r = row.get(f"meshgate/{other}") if row else None
            if r is None:
                continue
            ok = r >= bound if op == ">=" else r <= bound
            lines.append(f"  {s:<18} {key:<18} meshgate/{other:<7} {r:6.2f} (target {op} {bound:.1f}):"
                         f" {'met' if ok else 'MISSED'}")
        for s, key, other, other_s, op, bound in CROSS_GOALS:
            mine = next((r for r in rows if r["scenario"] == s and r["metric"] == key), None)
            theirs = next((r for r in rows if r["scenario"] == other_s and r["metric"] == key), None)
            r = ratio(mine.get("meshgate"), theirs.get(other)) if mine and theirs else None
            if r is None:
                continue
            ok = r >= bound if op == ">=" else r <= bound
            lines.append(f"  {s} {key} meshgate ÷ {other} {other_s}: {r:.2f} (target {op} {bound:.1f}):"
                         f" {'met' if ok else 'MISSED'}")
        if lines and self.smoke:
            print("Targets: not judged in a --smoke run (1 s runs, 100 idle connections).")
        elif lines:
            print("Targets (ratios of the medians above):")
            print("\n".join(lines))

    def print_all(self):
        """Notes, tables, targets and the notes under them, on standard output."""
        self.collect_notes()
        settings = " ".join(f"{k}={v}" for k, v in self.settings.items())
        plain = [s for s in self.order if not scenarios.is_chain(s)]
        chain = [s for s in self.order if scenarios.is_chain(s)]
        if plain:
            self.rows += self.table(plain, PLAIN_COLUMNS, PLAIN_RATIOS, f"bench-compare: {settings} (medians)")
        if chain:
            rows = self.table(chain, CHAIN_COLUMNS, CHAIN_RATIOS, CHAIN_TITLE + settings + " (medians)")
            self.rows += rows
            self.goals(rows)
        print("Ratios divide the values: above 1 is better for (higher) metrics, below 1 is better for (lower) ones"
              " (latency, memory). '-' means not run, skipped or failed.")
        for n in self.notes:
            print("note: " + n)

    def document(self, scenario_list, failed):
        """The results JSON: settings, targets, table rows, notes and every run (fields of the bash
        script kept; `scenarios`, `failed` and each run's `run` number added)."""
        return {"settings": dict(self.settings), "targets": self.kinds, "rows": self.rows, "notes": self.notes,
                "runs": [{"scenario": s, "target": k, "results": r, "counters": c, "run": n}
                         for (s, k), rs in self.results.items()
                         for r, c, n in zip(rs, self.counters[(s, k)], self.run_numbers[(s, k)])],
                "scenarios": scenario_list, "failed": failed}


def write_json(doc, path):
    """Writes the results JSON and says so."""
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
    print(f"bench-compare: wrote {path}")
