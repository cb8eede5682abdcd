"""--chart: each scenario's headline metrics as bars relative to HAProxy (the comparison
docs/benchmarks.md makes), one panel per family (plain TCP, mTLS chain), from the rows of a
results JSON. matplotlib (Agg backend) is needed only here."""

import json

# The metrics drawn per scenario family (the table rows carry all of them).
HEADLINE = {
    "throughput": ["gbps"], "download": ["gbps"], "connrate": ["conn_per_s"],
    "pingpong": ["p50_us", "p99_us"], "idle": ["rss_per_conn_bytes"], "chain-idle": ["rss_per_conn_bytes"],
}
NAMES = {"direct": "direct", "meshgate": "meshgate", "haproxy": "HAProxy", "envoy": "Envoy"}
COLORS = {"meshgate": "#1f77b4", "envoy": "#9467bd", "haproxy": "#ff7f0e"}


class ChartError(Exception):
    """The chart cannot be drawn (no matplotlib, nothing to draw); the message says why."""


def pyplot():
    """matplotlib.pyplot on the Agg backend, or a ChartError saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise ChartError("--chart needs matplotlib (python3 -m pip install matplotlib;"
                         " scripts/bootstrap-bench installs it)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def family(scenario):
    """Metric family of a scenario name (as in scenarios.family, kept here so that --chart-from
    needs nothing else of the package)."""
    if scenario == "chain-idle":
        return scenario
    return scenario.removeprefix("chain-").removesuffix("-resumed").rstrip("0123456789")


def reference_of(rows):
    """HAProxy when any row has its value, else the direct path; None when neither ran."""
    for ref in ("haproxy", "direct"):
        if any(r.get(ref) for r in rows):
            return ref
    return None


def panels(rows, reference):
    """[(title, [(label, {target: ratio})])]: the plain and the chain panel, each with its bars."""
    out = []
    for title, chain in (("plain TCP", False), ("mTLS chain", True)):
        bars = []
        for r in rows:
            if r["scenario"].startswith("chain-") != chain:
                continue
            if r["metric"] not in HEADLINE.get(family(r["scenario"]), []):
                continue
            ref = r.get(reference)
            if not ref:
                continue
            ratios = {k: r[k] / ref for k in ("meshgate", "envoy", "haproxy", "direct")
                      if k != reference and k != "direct" and r.get(k) is not None}
            if ratios:
                label = f'{r["scenario"]}\n{r["unit"]}\n({r["better"]} is better)'
                bars.append((label, ratios))
        if bars:
            out.append((title, bars))
    return out


def draw(doc, path):
    """Draws the chart of a results document (the --json format) into the PNG `path`."""
    plt = pyplot()
    reference = reference_of(doc.get("rows", []))
    if reference is None:
        raise ChartError("--chart: no HAProxy or direct values to compare with in these results")
    groups = panels(doc["rows"], reference)
    if not groups:
        raise ChartError("--chart: no scenario has values of two targets to compare")
    widest = max(len(bars) for _, bars in groups)
    fig, axes = plt.subplots(len(groups), 1, figsize=(max(8, 1.3 * widest + 2), 4.6 * len(groups)), squeeze=False)
    for ax, (title, bars) in zip(axes[:, 0], groups):
        targets = [k for k in ("meshgate", "envoy", "haproxy") if any(k in ratios for _, ratios in bars)]
        width = 0.8 / len(targets)
        for i, target in enumerate(targets):
            xs = [n + (i - (len(targets) - 1) / 2) * width for n in range(len(bars))]
            values = [ratios.get(target, 0) for _, ratios in bars]
            drawn = ax.bar(xs, values, width, color=COLORS.get(target),
                           label=f"{NAMES[target]} ÷ {NAMES[reference]}")
            ax.bar_label(drawn, labels=[f"{v:.2f}" if target in ratios else "" for v, (_, ratios)
                                        in zip(values, bars)], fontsize=7, padding=2)
        ax.axhline(1.0, color="black", linewidth=1, linestyle="--", label=f"{NAMES[reference]} = 1.0")
        ax.set_xticks(range(len(bars)), [label for label, _ in bars], fontsize=7)
        ax.set_ylabel(f"median ÷ {NAMES[reference]}'s median")
        ax.set_title(title, fontsize=10)
        ax.margins(y=0.15)
        ax.legend(fontsize=8, loc="best")
    s = doc.get("settings", {})
    fig.suptitle("scripts/bench-compare: medians relative to " + NAMES[reference]
                 + f" (duration {s.get('duration', '?')}, runs {s.get('runs', '?')}, threads {s.get('threads', '?')},"
                 f" chain threads {s.get('chain_threads', '?')}{', smoke' if s.get('smoke') == '1' else ''})",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def draw_from_file(results_path, path):
    """Draws the chart of an earlier run's --json file."""
    try:
        with open(results_path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise ChartError(f"--chart-from {results_path}: {e}") from None
    draw(doc, path)
