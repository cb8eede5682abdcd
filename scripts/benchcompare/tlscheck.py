"""TLS checks of the chain runs from the proxies' counters: handshakes really happened,
chain-connrate resumed none, chain-connrate-resumed's resumed share, and meshgate's trouble
counters stayed at 0."""

from . import scenarios

# meshgate counters that should stay 0 in these runs; any other value is listed as a note.
MESHGATE_WATCH = ["tls_refused_downstream", "tls_refused_upstream", "tls_truncated", "ktls_failures",
                  "ktls_key_update_closes", "resets_from_downstream", "resets_from_upstream", "connect_failures",
                  "upstreams_exhausted", "connect_timeouts", "forced_closes", "refused_over_limit",
                  "socket_failures", "accept_pauses_emfile", "idle_timeouts"]


def handshakes(kind, cnt):
    """Handshake counts of one chain run, from the originating side (the TLS client) and the
    terminating side (the TLS server): (full, resumed, failed) each, or None when the counters are
    missing. A meshgate older than tls_sessions_resumed_downstream does not tell resumed handshakes
    apart on its terminating side (None)."""
    o, t = cnt.get("originating") or {}, cnt.get("terminating") or {}
    if kind == "meshgate":
        if not o or not t:
            return None
        up = o.get("tls_handshakes_upstream", 0)
        res = o.get("tls_sessions_resumed", 0)
        down = t.get("tls_handshakes_downstream", 0)
        res_t = t.get("tls_sessions_resumed_downstream")
        return {"originating": (up - res, res, o.get("tls_refused_upstream", 0) + o.get("tls_refused_downstream", 0)),
                "terminating": (down - (res_t or 0), res_t,
                                t.get("tls_refused_downstream", 0) + t.get("tls_refused_upstream", 0))}
    if kind == "haproxy":
        if "ssl_sess" not in o or "ssl_sess" not in t:
            return None
        return {"originating": (o["ssl_sess"], o.get("ssl_reused_sess", 0), o.get("ssl_failed_handshake", 0)),
                "terminating": (t["ssl_sess"], t.get("ssl_reused_sess", 0), t.get("ssl_failed_handshake", 0))}
    if kind == "envoy":
        def side(d, prefix):
            hs = sum(v for k, v in d.items() if k.startswith(prefix) and k.endswith(".ssl.handshake"))
            res = sum(v for k, v in d.items() if k.startswith(prefix) and k.endswith(".ssl.session_reused"))
            bad = sum(v for k, v in d.items() if k.startswith(prefix)
                      and (".ssl.connection_error" in k or ".ssl.fail_" in k))
            return (hs - res, res, bad)
        return {"originating": side(o, "cluster."), "terminating": side(t, "listener.")}
    return None


def check(scenario, kind, counter_list):
    """Notes on one chain scenario and target over all its runs; returns (notes, failed)."""
    notes, failed = [], False
    tot = {"originating": [0, 0, 0], "terminating": [0, 0, 0]}
    missing = 0
    for cnt in counter_list:
        hs = handshakes(kind, cnt) if "error" not in cnt else None
        if hs is None:
            missing += 1
            continue
        for side in tot:
            for i, v in enumerate(hs[side]):
                tot[side][i] += v or 0
    if missing:
        notes.append(f"{scenario} / {kind}: TLS counters unavailable in {missing} run(s)")
    if missing == len(counter_list):
        return notes, failed
    o, t = tot["originating"], tot["terminating"]
    # Listed where handshakes are the point (connection rates, memory of handshaken connections)
    # or something failed.
    if scenario in ("chain-connrate", "chain-connrate-resumed", "chain-idle") or o[2] or t[2]:
        share = f" ({100 * o[1] / (o[0] + o[1]):.0f} % resumed)" if o[0] + o[1] else ""
        notes.append(f"{scenario} / {kind}: TLS handshakes (all runs), originating side {o[0]:,} full,"
                     f" {o[1]:,} resumed{share}, {o[2]:,} failed; terminating side {t[0] + (t[1] or 0):,}"
                     f" ({t[1]:,} resumed), {t[2]:,} failed")
    if o[0] + o[1] == 0:
        notes.append(f"{scenario} / {kind}: ERROR: no TLS handshake counted on the originating side")
        failed = True
    if scenarios.full_handshakes(scenario) and (o[1] or t[1]):
        notes.append(f"{scenario} / {kind}: ERROR: sessions were resumed although every handshake must be a full one")
        failed = True
    if kind == "meshgate":
        for side in ("originating", "terminating"):
            seen = {}
            for cnt in counter_list:
                for key, v in (cnt.get(side) or {}).items():
                    if (key in MESHGATE_WATCH or key.startswith("tls_refused_")) and v:
                        seen[key] = seen.get(key, 0) + v
            if seen:
                notes.append(f"{scenario} / meshgate {side}: "
                             + ", ".join(f"{key}={int(v):,}" for key, v in sorted(seen.items())))
    return notes, failed
