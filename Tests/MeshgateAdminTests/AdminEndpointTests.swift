import Foundation
import Logging
import MeshgateAdmin
import MeshgateControl
import MeshgateDiscovery
import MeshgateProxy
import Testing
import MeshgateTestKit

/// The admin endpoint over a real gateway (a `GatewayController` on loopback ports): the answers
/// of `/live`, `/ready` and `/status` against what the gateway really does.
@Suite("admin endpoint: /live, /ready, /status")
struct AdminEndpointTests {
    @Test("a running gateway is live and ready, and /status says what it runs with")
    func statusOfARunningGateway() throws {
        let g = try AdminTestGateway(label: "status")
        try g.waitReady()

        let live = try g.get("/live")
        #expect(live.status == 200)
        #expect(live.text == "live\n")
        #expect(live.headers["content-type"]?.hasPrefix("text/plain") == true)
        let ready = try g.get("/ready")
        #expect(ready.status == 200)
        #expect(ready.text == "ready\n")

        let raw = try g.get("/status")
        #expect(raw.status == 200)
        #expect(raw.headers["content-type"] == "application/json")
        let status = try GatewayStatus.decode(Data(raw.body))
        #expect(status.cluster == "east")
        #expect(status.trustDomain == "cluster.local")
        #expect(status.identity.name == "spiffe://cluster.local/ns/meshgate-east/sa/gateway")
        #expect(status.identity.certificate == g.pki.cert)
        let notAfter = try #require(status.identity.notAfter)
        #expect(abs(notAfter.timeIntervalSince(g.pki.leaf.certificate.notValidAfter)) < 1, "the leaf's notAfter")
        #expect(status.ready)
        #expect(status.notReady.isEmpty)
        #expect(["uring", "epoll"].contains(status.ioBackend))
        #expect(status.ioBackend == g.controller.server.backend.kind.rawValue)
        #expect(["available", "unavailable"].contains(status.kernelTLS), "kTLS is requested (ktls: auto): \(status.kernelTLSDetail)")
        #expect(status.inbound == "127.0.0.1:\(g.inboundPort)")
        #expect(status.startedAt != nil)
        #expect(status.drainingSince == nil)
        #expect(status.routeTable.generation >= 1)
        #expect(status.routeTable.appliedByAllLoops >= 1 && status.routeTable.appliedByAllLoops <= status.routeTable.generation)
        #expect(status.services == GatewayStatus.ServiceCounts(count: 2, exported: 1))
        #expect(status.links.isEmpty)
        #expect(
            status.routes == [
                RouteStatus(
                    key: AdminTestGateway.routeKey, namespace: "default", name: "redis-west", port: 6379,
                    listen: "127.0.0.1:\(g.routePort)", cluster: "west", target: "default/redis-west:6379", source: .static,
                    state: .up, active: nil)
            ])
        // The route really listens where /status says.
        #expect(!LoopbackPorts.canBind(g.routePort), "the route's listener holds 127.0.0.1:\(g.routePort)")
        // The loops' counters and the discovery server's refusals.
        #expect(Set(status.counters.keys) == Set(ProxyCounters.Name.allCases.map(\.key) + DiscoverRefusal.counted.map(\.counterKey) + [DiscoveryServer.lateAnnouncementsKey]))
    }

    @Test("/ready is 503 with the reason until the gateway runs, and again once it drains")
    func readinessFollowsTheLifecycle() throws {
        let g = try AdminTestGateway(label: "ready", start: false)
        let before = try g.get("/ready")
        #expect(before.status == 503)
        #expect(before.text.contains("not ready: starting: the loops are not running yet\n"), "\(before.text)")
        #expect(before.text.contains("not ready: no route table published yet\n"), "\(before.text)")
        #expect(try g.get("/live").status == 200, "live as long as the process serves")
        #expect(try g.status().ready == false)

        try g.start()
        try g.waitReady()
        #expect(try g.status().ready)

        g.controller.lifecycle.markDraining()
        let draining = try g.get("/ready")
        #expect(draining.status == 503)
        #expect(draining.text.hasPrefix("not ready: draining since "), "\(draining.text)")
        let status = try g.status()
        #expect(!status.ready)
        #expect(status.drainingSince != nil)
        #expect(status.notReady.count == 1)
    }

    @Test("an expired certificate makes the gateway not ready")
    func expiredCertificateIsNotReady() throws {
        let g = try AdminTestGateway(
            label: "expired", leafValidity: .seconds(3600), issuedAt: Date().addingTimeInterval(-2 * 86400))
        let ready = try g.get("/ready")
        #expect(ready.status == 503)
        #expect(ready.text.contains("not ready: the certificate \(g.pki.cert) expired at "), "\(ready.text)")
        let status = try g.status()
        #expect(!status.ready)
        let notAfter = try #require(status.identity.notAfter)
        #expect(notAfter < Date())
    }

    @Test("a dead linked gateway: /status shows the link not alive, with failed probes and the last error; the gateway stays ready")
    func deadLinkInStatus() throws {
        let g = try AdminTestGateway(label: "link", link: true, dataPlaneTraffic: true)
        try g.waitReady()
        var link: LinkStatus? = nil
        let down = waitUntil(timeout: 15) {
            link = (try? g.status())?.links.first
            return link?.alive == false
        }
        #expect(down, "the link to west went down: \(String(describing: link))")
        let l = try #require(link)
        #expect(l.cluster == "west")
        #expect(l.gateways == ["127.0.0.1:\(g.deadPort)"])
        #expect(l.probes.answered == 0)
        #expect(l.probes.failed >= 2, "failureThreshold 2: at least two failed rounds")
        #expect(l.lastError != nil)
        #expect(l.lastErrorAt != nil)
        #expect(l.latency == LinkStatus.Latency(p50Ms: nil, p99Ms: nil, lastMs: nil))
        #expect(!l.streaming)
        #expect(!l.synced)
        #expect(l.services == 0)
        // The link's warm pool (links.pool is on by default; the static route to west shares
        // it): nothing ready, no client served, and its opens to the dead port failed.
        let pool = try #require(l.pool, "the link's pool counts")
        #expect(pool.idle == 0 && pool.hits == 0 && pool.opened == 0, "\(pool)")
        #expect(pool.failed >= 1, "opens to the dead gateway port fail: \(pool)")
        #expect(try g.get("/ready").status == 200, "a dead link fails only its own routes")
    }

    @Test("unknown paths are 404; other methods than GET are 405 with Allow: GET; the query string is ignored")
    func notFoundAndMethods() throws {
        let g = try AdminTestGateway(label: "routes")
        let missing = try g.get("/nope")
        #expect(missing.status == 404)
        #expect(missing.text.hasPrefix("not found: /nope"))
        #expect(try g.get("/").status == 404)
        #expect(try g.get("/status/").status == 404)
        #expect(try g.get("/live?verbose=1").status == 200)

        let post = try rawExchange(
            g.adminAddress, Array("POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
        #expect(post.status == 405, "\(post.text)")
        #expect(post.text.contains("Allow: GET\r\n"), "\(post.text)")
        let head = try rawExchange(g.adminAddress, Array("HEAD /live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        #expect(head.status == 405, "\(head.text)")
        let postMissing = try rawExchange(g.adminAddress, Array("DELETE /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        #expect(postMissing.status == 404, "\(postMissing.text)")
    }

    @Test("bad and oversized requests get 400 (413 for a body) and the endpoint keeps serving")
    func badRequests() throws {
        let g = try AdminTestGateway(label: "bad")
        // Bytes that do not parse as HTTP get one 400 and a half-close, and the endpoint goes on serving.
        let garbage = try rawExchange(g.adminAddress, Array("HELLO THERE\r\n\r\n".utf8))
        #expect(garbage.status == 400, "\(garbage.text)")
        #expect(garbage.text.contains("Connection: close\r\n"), "\(garbage.text)")
        let binary = try rawExchange(g.adminAddress, [0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00, 0x0d, 0x0a, 0x0d, 0x0a])
        #expect(binary.status == 400, "a TLS hello is no HTTP request: \(binary.text)")
        #expect(try g.get("/live").status == 200, "still serving after garbage")
        let longTarget = "/" + String(repeating: "a", count: 3000)
        let long = try rawExchange(g.adminAddress, Array("GET \(longTarget) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        #expect(long.status == 400, "\(long.text.prefix(200))")
        #expect(responseBody(long.text) == "request target longer than 2048 bytes\n", "\(long.text.prefix(200))")
        let bigHeader = "X-Filler: " + String(repeating: "b", count: 20_000)
        let header = try rawExchange(g.adminAddress, Array("GET /live HTTP/1.1\r\nHost: x\r\n\(bigHeader)\r\n\r\n".utf8))
        #expect(header.status == 400, "\(header.text.prefix(200))")
        #expect(responseBody(header.text) == "bad request: too many header bytes seen; overflow detected\n", "\(header.text.prefix(200))")
        let body = [UInt8]("GET /live HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n".utf8) + [UInt8](repeating: 65, count: 10000)
        let big = try rawExchange(g.adminAddress, body)
        #expect(big.status == 413, "\(big.text.prefix(200))")
        // Keep-alive: two requests on one connection, two answers.
        let twice = try rawExchange(
            g.adminAddress, Array("GET /live HTTP/1.1\r\nHost: x\r\n\r\nGET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        // Two answers (the second, /ready, may be 503 while the gateway is still coming up).
        #expect(twice.text.components(separatedBy: "HTTP/1.1 ").count == 3, "\(twice.text)")
        #expect(twice.text.hasPrefix("HTTP/1.1 200 OK"), "\(twice.text)")
        #expect(try g.get("/live").status == 200, "still serving")
    }

    @Test("a port already in use is an error naming admin.listen")
    func portInUse() throws {
        let g = try AdminTestGateway(label: "inuse", start: false)
        let port = try #require(g.admin.localAddress?.port)
        let second = AdminServer(
            controller: g.controller, traffic: { nil }, logger: .init(label: "x", factory: { _ in SwiftLogNoOpLogHandler() }))
        #expect {
            try second.start(host: "127.0.0.1", port: port)
        } throws: { error in
            guard let e = error as? AdminServerError else { return false }
            return e.addressInUse
                && e.description
                    == "cannot serve the admin endpoint on admin.listen 127.0.0.1:\(port): address already in use (another process listens there)"
        }
        second.syncShutdown()
        #expect(try g.get("/live").status == 200, "the first one still serves")
    }
}
