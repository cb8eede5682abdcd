"""Issue 11, case 5: an identity hot reload runs the checks of `meshgate check` first. East's
tls.crt/tls.key are overwritten with a leaf-only chain, another identity's pair and a key that
does not match; each reload is refused (logged `file: field: reason`, counted in /status and
meshgate_identity_reload_refused_total), east keeps presenting its old certificate, so west's
link to east stays up and traffic through it flows, and /ready stays 200. `gateway --check` of a
config whose certificate belongs to another cluster exits 2."""

import re
import time

from harness import Case, Fail, eventually, expect_answer, write_atomically

BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", re.S)


def refused(east) -> tuple[int, str]:
    identity = east.status().get("identity", {})
    return int(identity.get("reloadsRefused") or 0), identity.get("lastReloadRefusal") or ""


def identity_reload(h) -> str:
    east = h.echo_gateway("east", "web", "east-web")
    west = h.gateway("west")
    west.link(east)
    port = west.wait_route("default/web-east:7000")
    if h.outcome(port) != "east-web:hello\n":
        raise Fail(f"west -> east before any reload: {h.outcome(port)!r}")
    name_before = east.status()["identity"]["name"]

    fresh = h.pki.gateway("east", out=h.work / "fresh-east")
    other = h.pki.workload("east", "default", "web", out=h.work / "east-default-web")
    crt, key = east.identity / "tls.crt", east.identity / "tls.key"
    own_key = key.read_text()
    bad = [
        ("leaf only", (fresh / "tls.key").read_text(), BLOCK.findall((fresh / "tls.crt").read_text())[0],
         "holds only the leaf certificate"),
        ("another identity", (other / "tls.key").read_text(), (other / "tls.crt").read_text(),
         "names spiffe://cluster.local/ns/default/sa/web"),
        ("key mismatch", own_key, (fresh / "tls.crt").read_text(), "identity.key"),
    ]
    seen = []
    for what, key_text, crt_text, reason in bad:
        count, _ = refused(east)
        write_atomically(key, key_text)
        write_atomically(crt, crt_text)
        eventually(lambda: refused(east)[0] > count and reason in refused(east)[1], 10, 0.1,
                   f"{what}: the reload refused with {reason!r} (last: {refused(east)[1]!r})")
        if str(east.identity) not in refused(east)[1]:
            raise Fail(f"{what}: the refusal does not name the file: {refused(east)[1]!r}")
        # West probes east every 1 s and gives up after 3 failed rounds: wait out 4.
        time.sleep(4.2)
        if not west.link_status("east").get("alive"):
            raise Fail(f"{what}: west's link to east went down: {west.log_tail()}")
        expect_answer(h.outcome(port), "east-web:hello\n", f"{what}: west -> east after the refused reload")
        if east.get("/ready")[0] != 200:
            raise Fail(f"{what}: east not ready: {east.get('/ready')}")
        if east.status()["identity"]["name"] != name_before:
            raise Fail(f"{what}: /status shows identity {east.status()['identity']['name']!r}")
        if east.log_count("identity reload refused") < 1:
            raise Fail(f"{what}: no refusal logged: {east.log_tail()}")
        seen.append(what)
    total = east.metric("meshgate_identity_reload_refused_total")
    if total < len(bad):
        raise Fail(f"meshgate_identity_reload_refused_total = {total}")

    # gateway --check with west's certificate in east's config: exit 2, naming both identities.
    config = east.folder / "check-west-cert.yaml"
    write_atomically(config, east.config_text().replace(f"{east.identity}/", f"{west.identity}/"))
    run = h.run([str(h.bin), "gateway", "--config", str(config), "--check"], check=False)
    if run.returncode != 2 or "names spiffe://cluster.local/ns/meshgate-west/sa/gateway" not in run.stderr:
        raise Fail(f"gateway --check with west's certificate: exit {run.returncode}: {run.stderr.strip()[:300]}")
    return f"refused {', '.join(seen)} ({int(total)} counted); west kept east up; --check caught the cluster"


CASES = [Case("identity-reload-refused", identity_reload, backends=("uring", "epoll"), timeout=120)]
