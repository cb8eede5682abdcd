"""Figures from the client's answers: percentiles (nearest rank), a phase's opened/steady summary
and RSS per held connection."""

import math


def percentile(values, p):
    """The nearest-rank p-th percentile of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def quantiles(values):
    """{"p50", "p99"} of `values` (None when empty)."""
    return {"p50": percentile(values, 50), "p99": percentile(values, 99)}


def opened(answer, requested, window):
    """An `open` answer summarised: counts, failures by kind, connect and first-byte quantiles."""
    return {"requested": requested, "window_s": window, "proven": answer["proven"], "failed": answer["failed"],
            "failures": answer["failures"], "seconds": answer["seconds"],
            "connect_ms": quantiles(answer["connect_ms"]), "first_byte_ms": quantiles(answer["first_byte_ms"])}


def steady(answer):
    """A `steady` answer summarised: requests per second, latency quantiles, errors."""
    seconds = answer["seconds"] or 1e-9
    return {"active": answer["active"], "seconds": answer["seconds"], "requests": answer["requests"],
            "rps": answer["requests"] / seconds, "failed": sum(answer["errors"].values()), "errors": answer["errors"],
            "latency_ms": quantiles(answer["latency_ms"])}


def rss_per_connection(before, holding, held):
    """Per side: VmRSS before opening and while holding `held` connections, and the growth per
    connection in bytes (None when unreadable or nothing is held)."""
    out = {}
    for side in before:
        b, h = before[side], holding[side]
        per = (h - b) / held if b is not None and h is not None and held else None
        out[side] = {"before": b, "holding": h, "per_connection": per}
    return out


def fmt(value, digits=1):
    """`value` with `digits` decimals, "-" for None."""
    return "-" if value is None else f"{value:.{digits}f}"


def pair(q, digits=1):
    """"p50/p99" of a quantiles dict."""
    return f"{fmt(q['p50'], digits)}/{fmt(q['p99'], digits)}"
