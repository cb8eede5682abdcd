"""Case 9: who may use the inbound port. Gateway identities, plus identities a service's
`allow:` names (`inbound.acceptWorkloads: true` restores any identity under the anchor); a
`meshgate-<c>/gateway` certificate must be issued by cluster c's issuer. With the reason labels
of 10–13 that are network-facing: `unknown_port`, and `protocol_version` for TLS 1.2 without ALPN."""

import ssl

from harness import Case, Fail, eventually, service
from tlspeer import connect_header, ending, open_tls


def _echo(port: int, identity, service_port: int = 7000, name: str = "echo") -> str:
    """Sends a line through default/<name>:<service_port> as `identity`: the answer, or how it ended."""
    try:
        s = open_tls(port, identity)
    except (ssl.SSLError, OSError) as e:
        return f"handshake failed ({e})"
    try:
        try:
            s.sendall(connect_header("default", name, service_port) + b"hello\n")
        except (ssl.SSLError, OSError) as e:
            return f"refused while sending ({type(e).__name__})"
        data = b""
        s.settimeout(5)
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return "reset" if not data else data.decode(errors="replace")
            except ssl.SSLEOFError:
                return "ended without an answer" if not data else data.decode(errors="replace")
            except ssl.SSLError as e:
                return f"tls-error ({e.reason})" if not data else data.decode(errors="replace")
            except (TimeoutError, OSError):
                return "timeout" if not data else data.decode(errors="replace")
            if not chunk:
                return data.decode(errors="replace") or "ended without an answer"
            data += chunk
            if data.endswith(b"\n"):
                return data.decode(errors="replace")
    finally:
        s.close()


def _served(west, identity, what: str) -> None:
    """`identity` must get default/echo's answer through west's inbound port."""
    got = _echo(west.inbound, identity)
    if got != "echo-west:hello\n":
        raise Fail(f"{what} through default/echo: {got!r}\n{west.log_tail()}")


def _refused(west, identity, what: str, counter: str) -> str:
    """`identity` must not reach default/echo, and the refusal is counted under `counter`;
    returns how the attempt ended."""
    got = _echo(west.inbound, identity)
    if "echo-west" in got:
        raise Fail(f"{what} was accepted: {got!r}")
    eventually(lambda: west.counter(counter) >= 1, 5, what=f"counted {counter}")
    return got


def _west(h, allow=None, extra_inbound: str = ""):
    backend = h.tagged_server("echo-west")
    west = h.gateway("west", [service("echo", [(7000, backend), (7002, 7002)], [f"127.0.0.1:{backend}"], allow=allow)],
                     start=False)
    if extra_inbound:
        text = west.config_text().replace(f"  listen: {west.host}:{west.inbound}\n",
                                          f"  listen: {west.host}:{west.inbound}\n{extra_inbound}")
        west.write_config(text)
    return west.start()


def workload_refused(h) -> str:
    west = _west(h)
    gateway = h.pki.gateway("east")
    workload = h.pki.workload("east", "shop", "web")
    _served(west, gateway, "east's gateway identity")
    got = _refused(west, workload, "a workload identity, to default/echo (no allow:) by default,",
                   "gateway_refused_not_allowed")
    return f"gateway identity served; workload {got}"


def workload_named_by_allow(h) -> str:
    workload = h.pki.workload("east", "shop", "web")
    west = _west(h, allow=[h.pki.identity("shop", "web")])
    _served(west, workload, "shop/web, named by allow:,")
    return "a workload the service's allow: names is served"


def accept_workloads(h) -> str:
    workload = h.pki.workload("east", "shop", "web")
    west = _west(h, extra_inbound="  acceptWorkloads: true\n")
    _served(west, workload, "with acceptWorkloads: true, shop/web")
    return "acceptWorkloads: true serves a workload identity"


def issuer_mismatch(h) -> str:
    west = _west(h)
    forged = h.pki.gateway("north", out=h.work / "pki" / "north-by-east", issuer_of="east")
    real = h.pki.gateway("north")
    _served(west, real, "north's real gateway identity")
    got = _refused(west, forged, "meshgate-north/gateway minted by east's issuer", "tls_refused_identity_issuer_mismatch")
    eventually(lambda: west.metric("meshgate_tls_refusals_total", reason="identity_issuer_mismatch") >= 1, 5,
               what="meshgate_tls_refusals_total{reason=identity_issuer_mismatch}")
    return f"forged north ({got}) refused and counted"


def reason_labels(h) -> str:
    west = _west(h)
    gateway = h.pki.gateway("east")
    got = _echo(west.inbound, gateway, service_port=7001)
    if "echo-west" in got:
        raise Fail(f"a port default/echo does not have was served: {got!r}")
    eventually(lambda: west.metric("meshgate_refusals_total", reason="unknown_port") >= 1, 5, what="refusals{reason=unknown_port}")
    _echo(west.inbound, gateway, service_port=7002)  # a port with no endpoints answering
    # TLS 1.2 without ALPN: protocol_version, not alpn.
    try:
        s = open_tls(west.inbound, gateway, alpn=False, tls12=True)
        ending(s, 2)
        s.close()
    except (ssl.SSLError, OSError):
        pass
    eventually(lambda: west.counter("tls_refused_protocol_version") >= 1, 5, what="tls_refused_protocol_version")
    if west.counter("tls_refused_alpn") != 0:
        raise Fail("TLS 1.2 without ALPN was counted as alpn")
    return "unknown_port and protocol_version counted"


CASES = [
    Case("inbound-workload-refused-by-default", workload_refused, backends=("uring", "epoll"), timeout=60),
    Case("inbound-workload-named-by-allow", workload_named_by_allow, backends=("uring", "epoll"), timeout=60),
    Case("inbound-accept-workloads", accept_workloads, backends=("uring", "epoll"), timeout=60),
    Case("inbound-gateway-issuer-binding", issuer_mismatch, backends=("uring", "epoll"), timeout=60),
    Case("inbound-reason-labels", reason_labels, backends=("uring", "epoll"), timeout=60),
]
