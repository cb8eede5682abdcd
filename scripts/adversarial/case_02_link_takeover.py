"""Issue 11, case 2: one link cannot take over another link's route. `<svc>-<cluster>` is
ambiguous with dashes: link `c` exporting `a-b` and link `b-c` exporting `a` both give
`default/a-b-c` on east. `c`, linked first, holds it; linking `b-c` (whose name sorts first)
is refused, logged once, counted (meshgate_mirror_conflicts_total{cluster="b-c"}) and shown in
/status; the route keeps its port and still reaches c. East restarted with c down (so b-c's
snapshot surely comes first): the name stays reserved for c (stateDir) and returns to it."""

from harness import Case, Fail, eventually, service

KEY = "default/a-b-c:7000"
REFUSAL = "link b-c: service default/a would be mirrored as default/a-b-c"


def route_cluster(east) -> str:
    for r in east.status().get("routes", []):
        if r["key"] == KEY:
            return r["cluster"]
    return ""


def takeover(h) -> str:
    c_backend = h.tagged_server("c:a-b")
    bc_backend = h.tagged_server("b-c:a")
    c = h.gateway("c", [service("a-b", [(7000, c_backend)], [f"127.0.0.1:{c_backend}"])])
    bc = h.gateway("b-c", [service("a", [(7000, bc_backend)], [f"127.0.0.1:{bc_backend}"])])
    east = h.gateway("east")

    east.link(c)
    port = east.wait_route(KEY)
    if h.outcome(port) != "c:a-b:hello\n":
        raise Fail(f"{KEY} on {port} does not reach c: {h.outcome(port)!r}")

    east.link(bc)
    eventually(lambda: east.link_status("b-c").get("synced"), 15, 0.1, "b-c synced on east")
    eventually(lambda: east.log_count(REFUSAL) >= 1, 10, 0.1, "the conflict logged")
    link = east.link_status("b-c")
    refusals = link.get("refusals") or {}
    if refusals.get("conflicts") != 1:
        raise Fail(f"b-c refusals in /status: {refusals}")
    if "default/a-b-c" not in (link.get("lastError") or ""):
        raise Fail(f"b-c lastError: {link.get('lastError')!r}")
    conflicts = east.metric("meshgate_mirror_conflicts_total", cluster="b-c")
    if conflicts != 1:
        raise Fail(f"meshgate_mirror_conflicts_total{{cluster=\"b-c\"}} = {conflicts}")
    if route_cluster(east) != "c" or east.routes().get(KEY) != port:
        raise Fail(f"{KEY} moved: cluster {route_cluster(east)!r}, port {east.routes().get(KEY)} (was {port})")
    answer = h.outcome(port)
    if answer != "c:a-b:hello\n":
        raise Fail(f"{KEY} on {port} answered {answer!r} after b-c was linked")
    if east.log_count(REFUSAL) != 1:
        raise Fail(f"the conflict was logged {east.log_count(REFUSAL)} times")
    table = h.meshgate("routes", "--admin", f"127.0.0.1:{east.admin}")
    if REFUSAL not in table:
        raise Fail(f"meshgate routes does not list the refusal:\n{table}")

    # Restart east with c down: only b-c's snapshot can arrive; the name stays c's.
    c.kill()
    east.restart()
    eventually(lambda: east.link_status("b-c").get("synced"), 15, 0.1, "b-c synced after east's restart")
    eventually(lambda: east.log_count("which is reserved for link c") >= 1, 10, 0.1, "the name reserved for c")
    if KEY in east.routes():
        raise Fail(f"{KEY} published while c is down: cluster {route_cluster(east)!r}")
    c.start()
    east.wait_route(KEY, timeout=20)
    if route_cluster(east) != "c":
        raise Fail(f"{KEY} is {route_cluster(east)!r}'s after east's restart")
    answer = eventually(lambda: (lambda a: a if a.startswith("c:") else False)(h.outcome(east.routes()[KEY])), 10, 0.2,
                        f"{KEY} reaching c after the restart")
    return f"{KEY} stays c's (port {port}); b-c refused once, counted, in /status; kept across east's restart"


CASES = [Case("no-link-takeover", takeover, backends=None, timeout=120)]
