"""The end of a bench-scale run: the targets of issue 15 §5 judged per backend, the table on
standard output and the results JSON."""

import json

from .stats import fmt, pair

MAX_KIB_PER_CONNECTION = 8.0
MAX_CLOSE_SECONDS = 1.0
SIDES = ("east", "west")


def failures(result):
    """Connections not proven in the burst and the growth, plus steady ping-pong errors."""
    return sum(result.get(phase, {}).get("failed", 0) for phase in ("burst", "grow", "steady"))


def kib_per_connection(result, side):
    per = result.get("rss", {}).get(side, {}).get("per_connection")
    return None if per is None else per / 1024


def targets(result):
    """{target: True (met) / False (not met) / None (not measured)} for one backend's result."""
    kibs = [kib_per_connection(result, s) for s in SIDES]
    close = result.get("close", {}).get("seconds") if "close" in result else None
    return {
        "failures": failures(result) == 0 if "burst" in result else None,
        "rss_east": None if kibs[0] is None else kibs[0] <= MAX_KIB_PER_CONNECTION,
        "rss_west": None if kibs[1] is None else kibs[1] <= MAX_KIB_PER_CONNECTION,
        "close_all": (close is not None and close <= MAX_CLOSE_SECONDS) if "close" in result else None,
    }


def verdict(met):
    return {True: "met", False: "NOT met", None: "not measured"}[met]


def rows(results):
    """The table's rows: (label, cell per backend, target text)."""
    judged = [targets(r) for r in results]

    def cell(text, key=None):
        return [text(r) + (f" ({verdict(j[key])})" if key else "") for r, j in zip(results, judged)]

    def phase(r, name):
        return r.get(name) or {}

    def q(r, name, field):
        return pair(phase(r, name)[field]) if phase(r, name) else "-"

    return [
        ("failures (burst+grow+steady)", cell(lambda r: str(failures(r)), "failures"), "0"),
        ("held connections", cell(lambda r: str(r.get("held", "-"))), ""),
        ("burst proven / asked", cell(lambda r: f"{phase(r, 'burst').get('proven', '-')}/"
                                                f"{phase(r, 'burst').get('requested', '-')}"), ""),
        ("burst took s", cell(lambda r: fmt(phase(r, "burst").get("seconds"))), ""),
        ("burst connect p50/p99 ms", cell(lambda r: q(r, "burst", "connect_ms")), ""),
        ("burst first byte p50/p99 ms", cell(lambda r: q(r, "burst", "first_byte_ms")), ""),
        ("RSS/conn east KiB", cell(lambda r: fmt(kib_per_connection(r, "east"), 2), "rss_east"),
         f"<= {MAX_KIB_PER_CONNECTION:g}"),
        ("RSS/conn west KiB", cell(lambda r: fmt(kib_per_connection(r, "west"), 2), "rss_west"),
         f"<= {MAX_KIB_PER_CONNECTION:g}"),
        ("steady active", cell(lambda r: str(phase(r, "steady").get("active", "-"))), ""),
        ("steady req/s", cell(lambda r: fmt(phase(r, "steady").get("rps"), 0)), ""),
        ("steady p50/p99 ms", cell(lambda r: pair(phase(r, "steady")["latency_ms"], 2) if phase(r, "steady") else "-"),
         ""),
        ("close all s", cell(lambda r: fmt(phase(r, "close").get("seconds"), 2) if phase(r, "close") else "-",
                             "close_all"), f"<= {MAX_CLOSE_SECONDS:g}"),
    ]


def table(results, header):
    """The results table as text: one column per backend, the target last."""
    body = rows(results)
    head = ["", *[r["backend"] for r in results], "target"]
    lines = [[label, *cells, target] for label, cells, target in body]
    widths = [max(len(str(row[i])) for row in [head, *lines]) for i in range(len(head))]
    out = [header]
    for row in [head, *lines]:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    for r in results:
        if r.get("error"):
            out.append(f"{r['backend']}: FAILED: {r['error']}")
        for name in ("burst", "grow", "steady"):
            kinds = (r.get(name) or {}).get("failures") or (r.get(name) or {}).get("errors")
            if kinds:
                out.append(f"{r['backend']}: {name} failures by kind: {kinds}")
    return "\n".join(out)


def write_json(path, document, results):
    """The run's settings and results, with each backend's targets judged."""
    document = dict(document, results=[dict(r, targets=targets(r)) for r in results])
    with open(path, "w") as f:
        json.dump(document, f, indent=2)
        f.write("\n")
