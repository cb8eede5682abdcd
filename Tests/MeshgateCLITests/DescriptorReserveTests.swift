import Foundation
import MeshgateLoop
import MeshgateAdmin
import Testing
import MeshgateTestKit

#if canImport(Glibc)
    import Glibc
#endif

/// The descriptor reserve (issue 11, "10–13"): a gateway whose data plane is at its share of
/// RLIMIT_NOFILE leaves the last descriptors to the control plane, so the admin endpoint keeps
/// answering `/live` and `/ready`; when the clients go, accepting resumes.
extension TLSEndToEnd {
    @Suite struct DescriptorReserveTests {
        static let backends = ["uring", "epoll"]

        /// Routes whose listeners the control plane opens after the data plane sized its
        /// connection limit: they use up room the limit counted on, as mirrored routes do.
        static let routes = 100

        @Test(
            "RLIMIT_NOFILE 256, 100 route listeners, 300 clients: the data plane stops at its share; /live and /ready answer within a second; accepting resumes",
            arguments: backends)
        func adminAnswersWhileTheDataPlaneIsAtItsShare(backend: String) throws {
            let pki = try GatewayPKI.shared()
            let base = try LoopbackPorts.freeBlock(count: Self.routes + 4)
            let (inbound, admin) = (base, base + 1)
            let routePorts = (0..<Self.routes).map { base + 4 + UInt16($0) }
            // The routes' gateway takes connections into its backlog and never answers: each
            // client holds its socket and an upstream socket until the handshake times out.
            let hole = try BlackHoleListener()
            defer { hole.close() }
            let routes = routePorts.enumerated().map { i, port in
                RouteSpec(name: "r\(i)", port: 7000, gateways: ["127.0.0.1:\(hole.port)"], listen: "127.0.0.1:\(port)")
            }
            let dir = try makeTestDirectory("fd-reserve")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let config =
                GatewayYAML.gateway(
                    cluster: "east", identity: pki.gateway("east"), inbound: inbound, outbound: (base + 2)...(base + 3),
                    ioBackend: backend, routes: routes) + "admin:\n  listen: 127.0.0.1:\(admin)\n"
            let started = Date()
            let gw = try GatewayProcess(cluster: "east", directory: dir, config: config, inboundPort: inbound, nofile: 256)
            let adminAddress = "127.0.0.1:\(admin)"
            #expect(waitUntil(timeout: 10) { (try? AdminClient.get(adminAddress, path: "/ready", timeout: .seconds(1)))?.status == 200 })

            // Three clients per route: more than the descriptors left (the rest wait in the backlogs).
            // Read from /proc (not through the gateway): its data plane's share is 256 − 64.
            let open = { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(gw.process.pid)/fd").count) ?? 0 }
            let clients = IdleClients()
            defer { clients.closeAll() }
            for round in 0..<3 {
                for port in routePorts { clients.connect(port: port) }
                // The first round taken in (or the share reached) before the others queue behind it.
                if round == 0 {
                    waitUntil(timeout: 5) { open() >= 192 || ((try? gw.counter("accepted")) ?? 0) >= Self.routes }
                }
            }
            let atShare = waitUntil(timeout: 10) { open() >= 192 }
            #expect(atShare, "the data plane never reached its descriptor share (\(open()) open):\n\(gw.logTail)")
            // The data plane has seen the limit: its accepts pause.
            gw.process.waitCounter("accept_pauses_emfile") { $0 > 0 }

            // The data plane is at its share: probes must still be answered, each within a second.
            var slow: [String] = []
            for i in 0..<8 {
                let path = i % 2 == 0 ? "/live" : "/ready"
                let t0 = Date()
                do {
                    let r = try AdminClient.get(adminAddress, path: path, timeout: .seconds(1))
                    if r.status != 200 { slow.append("\(path): \(r.status) \(r.text)") }
                } catch {
                    slow.append("\(path): \(error) after \(Date().timeIntervalSince(t0)) s")
                }
                usleep(200_000)
            }
            #expect(slow.isEmpty, "admin probes failed while the data plane was at its share: \(slow)\n\(gw.logTail)")
            #expect(open() <= 256 - 8, "the data plane left the reserve to the control plane (\(open()) open)")
            #expect(((try? gw.counter("accept_pauses_emfile")) ?? 0) > 0, "the pause is counted")
            #expect(gw.stderr.contains("the data plane holds its share of descriptors"), "the pause is logged")
            let logged = gw.logLines(containing: "the data plane holds its share of descriptors").count
            let seconds = Int(Date().timeIntervalSince(started)) + 1
            #expect(logged <= seconds, "the reserve warning is rate-limited: \(logged) lines in \(seconds) s")

            // The clients go, and so does the routes' gateway (its backlog is reset, so the
            // upstream handshakes fail at once instead of at the handshake timeout). Clients still
            // in the route listeners' backlogs are accepted and reset as they come; once the count
            // settles with nothing open, a new client must be accepted at once.
            clients.closeAll()
            hole.close()
            var last = -1
            var settled = false
            for _ in 0..<60 where !settled {
                usleep(500_000)
                let c = (try? gw.counters(["accepted", "active"])) ?? [:]
                let now = c["accepted"] ?? -1
                settled = now == last && now >= 0 && c["active"] == 0
                last = now
            }
            #expect(settled, "the accepted count did not settle after the clients left")
            let probe = IdleClients()
            defer { probe.closeAll() }
            probe.connect(port: routePorts[0])
            let resumed = waitUntil(timeout: 3) { ((try? gw.counter("accepted")) ?? -1) > last }
            #expect(resumed, "accepting did not resume after the clients left:\n\(gw.logTail)")
            #expect((try? AdminClient.get(adminAddress, path: "/ready", timeout: .seconds(1)))?.status == 200)
            #expect(gw.stop() == 0, "\(gw.logTail)")
        }
    }
}

/// A listener on 127.0.0.1 that never accepts: connects to it complete in its backlog.
final class BlackHoleListener {
    private(set) var fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, try LoopbackSocket.bind(fd, port: 0) == 0, listen(fd, 4096) == 0, let local = try? Socket.localAddress(fd) else {
            let e = errno
            if fd >= 0 { Glibc.close(fd) }
            throw TestFailure("black hole listener: errno \(e)")
        }
        self.fd = fd
        port = local.port
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

/// Plain TCP clients that connect (non-blocking) and send nothing.
final class IdleClients {
    private var fds: [Int32] = []

    func connect(port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        _ = try? LoopbackSocket.connect(fd, port: port)
        fds.append(fd)
    }

    func closeAll() {
        for fd in fds { close(fd) }
        fds.removeAll()
    }
}
