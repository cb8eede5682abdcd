"""Issue 11, case 3 (and the route cap of case 4): over a link's limits, what the link has keeps
its place. West exports web, then 40 more services (svc*, sorting before web) with east's
links.limits.services at 20, and restarts so that a whole snapshot comes: east keeps web on its
port and refuses only new services (counted, logged once, the link's last error). A service
with 64 ports under links.limits.routes 16 gets 16 routes, so north's export still gets a port."""

from harness import Case, Fail, eventually, service

FAST = "probe: {interval: 1s, timeout: 500ms, failureThreshold: 3}"


def services_limit(h) -> str:
    backend = h.tagged_server("web")
    web = service("web", [(7000, backend)], [f"127.0.0.1:{backend}"])
    west = h.gateway("west", [web])
    east = h.gateway("east", links_yaml=f"{{dir: links, {FAST}, limits: {{services: 20}}}}")
    east.link(west)
    port = east.wait_route("default/web-west:7000")

    flood = [service(f"svc{i:02d}", [(7000, backend)], [f"127.0.0.1:{backend}"]) for i in range(40)]
    west.set_services(flood + [web])
    eventually(lambda: east.link_status("west").get("services") == 20, 10, 0.1, "east at 20 services from west")
    # A whole snapshot (west restarted): web sorts after every svc* and used to be dropped.
    west.restart()
    eventually(lambda: east.metric("meshgate_mirror_limit_refusals_total", cluster="west", limit="services") >= 42, 20, 0.2,
               "the snapshot's refusals counted")
    routes = east.routes()
    if routes.get("default/web-west:7000") != port:
        raise Fail(f"default/web-west:7000 evicted or moved: {routes.get('default/web-west:7000')} (was {port})")
    if h.outcome(port) != "web:hello\n":
        raise Fail(f"default/web-west:7000 on {port} answered {h.outcome(port)!r}")
    link = east.link_status("west")
    if link.get("services") != 20:
        raise Fail(f"west has {link.get('services')} services on east, not 20")
    if "limits.services" not in (link.get("lastError") or ""):
        raise Fail(f"west's lastError: {link.get('lastError')!r}")
    logged = east.log_count(r"links limits\.services")
    if logged != 1:
        raise Fail(f"the services limit was logged {logged} times")
    refused = east.metric("meshgate_mirror_limit_refusals_total", cluster="west", limit="services")
    return f"web kept on port {port}; 20 services mirrored, {refused:g} imports refused, logged once"


def routes_limit(h) -> str:
    backend = h.tagged_server("wide")
    wide = service("wide", [(7000 + i, backend) for i in range(64)], [f"127.0.0.1:{backend}"])
    west = h.gateway("west", [wide])
    north_backend = h.tagged_server("north")
    north = h.gateway("north", [service("echo", [(7000, north_backend)], [f"127.0.0.1:{north_backend}"])])
    east = h.gateway("east", ports=h.port_block(20), links_yaml=f"{{dir: links, {FAST}, limits: {{routes: 16}}}}")
    east.link(west)
    eventually(lambda: sum(1 for k in east.routes() if k.startswith("default/wide-west:")) == 16, 15, 0.1,
               "16 routes of west's wide")
    east.link(north)
    port = east.wait_route("default/echo-north:7000", timeout=15)
    if h.outcome(port) != "north:hello\n":
        raise Fail(f"default/echo-north:7000 on {port} answered {h.outcome(port)!r}")
    wide_routes = sum(1 for k in east.routes() if k.startswith("default/wide-west:"))
    refused = east.metric("meshgate_mirror_limit_refusals_total", cluster="west", limit="routes")
    if wide_routes != 16 or refused != 48:
        raise Fail(f"west has {wide_routes} routes, {refused:g} refused (want 16 and 48)")
    if "limits.routes" not in (east.link_status("west").get("lastError") or ""):
        raise Fail(f"west's lastError: {east.link_status('west').get('lastError')!r}")
    return f"west capped at 16 routes (48 refused); north's echo on port {port}"


CASES = [
    Case("services-limit-keeps-routes", services_limit, backends=None, timeout=120),
    Case("routes-limit-per-link", routes_limit, backends=None, timeout=120),
]
