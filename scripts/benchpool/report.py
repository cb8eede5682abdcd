"""The end of a bench-pool run: the saving (off - on) at p50 and p99 in ms and in RTTs, the target
of issue 15 §3 (the pool saves >= 1 RTT at p50 and at p99) judged, the table on standard output and
the results JSON."""

import json
import statistics

from benchscale.stats import fmt

from .modes import counters

TARGET_RTTS = 1.0
QUANTILES = ("p50", "p90", "p99")


def by_mode(results):
    return {r["mode"]: r for r in results}


def measured_rtt(results):
    """The median ping RTT over the modes that measured one (ms), None when none did."""
    medians = [r["rtt_ms"]["median"] for r in results if (r.get("rtt_ms") or {}).get("median") is not None]
    return statistics.median(medians) if medians else None


def savings(results):
    """{"p50": {"ms", "rtts", "met"}, "p99": …}: off - on first-byte time; empty without both modes' figures."""
    modes, rtt = by_mode(results), measured_rtt(results)
    off, on = (modes.get(m, {}).get("first_byte_ms") or {} for m in ("off", "on"))
    out = {}
    for q in ("p50", "p99"):
        if off.get(q) is None or on.get(q) is None:
            continue
        ms = off[q] - on[q]
        rtts = ms / rtt if rtt else None
        out[q] = {"ms": ms, "rtts": rtts, "met": None if rtts is None else rtts >= TARGET_RTTS}
    return out


def target_met(results):
    """True/False when both savings were judged, None otherwise."""
    s = savings(results)
    judged = [s[q]["met"] for q in ("p50", "p99") if q in s]
    return None if len(judged) < 2 or None in judged else all(judged)


def verdict(met):
    return {True: "met", False: "MISSED", None: "not measured"}[met]


def failures(results):
    return sum(r.get("failed", 0) for r in results)


def table(results, header):
    """The results table as text: one column per mode, the saving and the target last."""
    modes, s = by_mode(results), savings(results)
    names = [r["mode"] for r in results]

    def cell(mode, text):
        r = modes[mode]
        return text(r) if "first_byte_ms" in r else "-"

    def saving(q):
        if q not in s:
            return "-"
        rtts = fmt(s[q]["rtts"], 2)
        return f"{s[q]['ms']:.2f} ms = {rtts} RTT ({verdict(s[q]['met'])})"

    lines = []
    for q in QUANTILES:
        lines.append((f"first byte {q} ms", [cell(m, lambda r, q=q: fmt(r["first_byte_ms"][q], 2)) for m in names],
                      saving(q) if q != "p90" else "", f">= {TARGET_RTTS:g} RTT" if q != "p90" else ""))
    lines += [
        ("connect p50/p99 ms", [cell(m, lambda r: f"{fmt(r['connect_ms']['p50'], 3)}/{fmt(r['connect_ms']['p99'], 3)}")
                                for m in names], "", ""),
        ("echoed / asked", [cell(m, lambda r: f"{r['succeeded']}/{r['connections']}") for m in names], "", ""),
        ("failures", [cell(m, lambda r: str(r["failed"])) for m in names], "", "0"),
        ("RTT p50/p99 (ping) ms", [f"{fmt((modes[m].get('rtt_ms') or {}).get('median'), 2)}/"
                                   f"{fmt((modes[m].get('rtt_ms') or {}).get('p99'), 2)}" for m in names], "", ""),
        ("east pool idle before", [fmt(counters(modes[m].get("pool_before"), "gateway_pool_idle"), 0) for m in names], "", ""),
        ("east pool hits/misses", [f"{fmt(counters(modes[m].get('pool_after'), 'gateway_pool_hits'), 0)}/"
                                   f"{fmt(counters(modes[m].get('pool_after'), 'gateway_pool_misses'), 0)}" for m in names], "", ""),
    ]
    head = ["", *names, "saving (off - on)", "target"]
    rows = [[label, *cells, saved, target] for label, cells, saved, target in lines]
    widths = [max(len(str(row[i])) for row in [head, *rows]) for i in range(len(head))]
    out = [header]
    for row in [head, *rows]:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    out.append(f"target (pool saves >= {TARGET_RTTS:g} RTT at p50 and p99): {verdict(target_met(results))}")
    for r in results:
        if r.get("error"):
            out.append(f"pool {r['mode']}: FAILED: " + r["error"].replace("\n", "\n    "))
        if r.get("failures"):
            out.append(f"pool {r['mode']}: failures by kind: {r['failures']}")
        if r["mode"] == "on" and "pool_before" in r and r.get("pool_filled_after_s") is None:
            out.append("pool on: east never reported a filled pool (no gateway_pool_idle >= 1): this build may not pool yet")
        if r["mode"] == "off" and "links_pool" in r and r["links_pool"] is None and "first_byte_ms" in r:
            out.append("pool off: ran without links.pool (the gateway refused the key)")
    return "\n".join(out)


def write_json(path, document, results):
    """The run's settings and results, with the savings and the target judged."""
    document = dict(document, rtt_ms=measured_rtt(results), savings=savings(results),
                    target={"rtts": TARGET_RTTS, "met": target_met(results)}, results=results)
    with open(path, "w") as f:
        json.dump(document, f, indent=2)
        f.write("\n")
