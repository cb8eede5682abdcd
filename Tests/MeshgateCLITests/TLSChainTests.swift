import Foundation
import MeshgateLoad
import Testing
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

extension TLSEndToEnd {
    /// The plain-path acceptance suite (integrity, half-close, resets, drain) through an mTLS
    /// chain: client → meshgate --upstream-tls (west) → meshgate --listen-tls (east) → backend.
    @Suite struct TLSChainTests {
        /// Random sizes 0–`max` bytes from a fixed seed, so a failure can be replayed.
        static func sizes(count: Int, seed: UInt64, max: Int) -> [Int] {
            var g = SplitMix64(seed: seed)
            return (0..<count).map { _ in Int(g.next() % UInt64(max + 1)) }
        }

        static let tlsCounters = [
            "accepted", "tls_handshakes_downstream", "tls_handshakes_upstream", "tls_handshakes_active",
            "tls_refused_downstream", "tls_refused_upstream", "tls_truncated", "tls_userspace_sides", "ktls_tx_sides",
            "bytes_downstream_to_upstream", "bytes_upstream_to_downstream", "tls_sessions_resumed",
        ]

        @Test("1000 concurrent streams (0–1 MiB, plus three of 64 MiB) arrive intact through originate → terminate", arguments: TLSEndToEnd.backends)
        func integrity(backend: String) throws {
            let pki = try TestPKIFiles.shared()
            let echo = try BackendServer(behavior: .echo, threads: 2)
            defer { echo.stop() }
            // 1003 handshakes start at once; on two loaded cores (the whole test run in parallel) a
            // few took longer than the default 10 s, so this data test gives them a minute (the
            // handshake timeout has its own tests in TLSRefusalTests).
            let patient = ["--handshake-timeout", "60s"]
            let chain = try TLSChain(upstream: echo.endpoint, backend: backend, pki: pki, originatorExtra: patient, terminatorExtra: patient)
            var sizes = Self.sizes(count: 1000, seed: 42, max: 1 << 20)
            sizes += [64 << 20, 64 << 20, 64 << 20]
            let n = sizes.count
            let report = IntegrityRun.run(target: chain.entry, sizes: sizes, concurrency: n, deadline: .seconds(300))
            #expect(report.ok == n, "\(report)\n\(chain.logs)")
            #expect(report.mismatches == 0, "\(report.failureSamples)")
            #expect(report.failures == 0, "\(report.failureSamples)")
            let total = Int(report.bytesEachWay)
            let o = try chain.originator.counters(Self.tlsCounters)
            let t = try chain.terminator.counters(Self.tlsCounters)
            // Every stream is one full mTLS handshake (or a resumption) on each side.
            #expect(o["tls_handshakes_upstream"] == n, "originator \(o)")
            #expect(t["tls_handshakes_downstream"] == n, "terminator \(t)")
            #expect(o["tls_refused_upstream"] == 0 && t["tls_refused_downstream"] == 0, "originator \(o)\nterminator \(t)")
            #expect(o["tls_truncated"] == 0 && t["tls_truncated"] == 0, "close_notify on every stream: originator \(o)\nterminator \(t)")
            #expect(o["tls_handshakes_active"] == 0 && t["tls_handshakes_active"] == 0)
            // Each TLS side counts once in exactly one of user space / kTLS TX; the plain sides not at all.
            #expect((o["tls_userspace_sides"] ?? 0) + (o["ktls_tx_sides"] ?? 0) == n, "originator \(o)")
            #expect((t["tls_userspace_sides"] ?? 0) + (t["ktls_tx_sides"] ?? 0) == n, "terminator \(t)")
            // Payload bytes, both processes, both directions.
            for (name, c) in [("originator", o), ("terminator", t)] {
                #expect(c["accepted"] == n, "\(name) \(c)")
                #expect(c["bytes_downstream_to_upstream"] == total, "\(name) \(c)")
                #expect(c["bytes_upstream_to_downstream"] == total, "\(name) \(c)")
            }
            #expect(echo.stats.accepted == n)
            #expect(echo.stats.bytesIn == Int64(total))
        }

        @Test("half-close: the client's FIN crosses the mTLS hop (close_notify), the answer still comes back", arguments: TLSEndToEnd.backends)
        func halfClose(backend: String) throws {
            let pki = try TestPKIFiles.shared()
            let server = try BackendServer(behavior: .drainThenReply(3 << 20))
            defer { server.stop() }
            let chain = try TLSChain(upstream: server.endpoint, backend: backend, pki: pki)
            let fd = try TestClient.connect(chain.entry)
            defer { close(fd) }
            let sent: String
            do { sent = try TestClient.writeAll(fd: fd, pattern: 7, count: 5 << 20) } catch {
                Issue.record("write failed: \(error)\n\(chain.logs)")
                return
            }
            TestClient.shutdownWrite(fd: fd)
            let (outcome, got) = TestClient.readAll(fd: fd, timeout: .seconds(30))
            #expect(outcome == .eof(bytes: 3 << 20), "\(chain.logs)")
            #expect(got == PatternStream.sha256(seed: BackendServer.replySeed, count: 3 << 20), "the reply arrived intact")
            #expect(server.stats.lastDrainSHA256 == sent, "the backend read exactly what was sent, to EOF")
            #expect(server.stats.lastDrainBytes == 5 << 20)
            #expect(try chain.originator.counter("tls_truncated") == 0)
            #expect(try chain.terminator.counter("tls_truncated") == 0)
        }

        @Test("a backend reset mid-stream reaches the client as a reset across the mTLS hop", arguments: TLSEndToEnd.backends)
        func backendResetBecomesClientReset(backend: String) throws {
            let pki = try TestPKIFiles.shared()
            let server = try BackendServer(behavior: .resetAfter(100_000))
            defer { server.stop() }
            let chain = try TLSChain(upstream: server.endpoint, backend: backend, pki: pki)
            let seen = try ResetPropagation.fromBackend(entry: chain.entry)
            if let writeError = seen.writeError {
                #expect(writeError.contains("reset") || writeError.contains("EPIPE") || writeError.contains("pipe"), "write failed with \(writeError)")
            } else {
                #expect(seen.readOutcome?.isReset == true, "expected a reset, got \(String(describing: seen.readOutcome))\n\(chain.logs)")
            }
            #expect(chain.terminator.waitCounter("resets_from_upstream") { $0 >= 1 } >= 1)
            // The terminator cut the TLS stream without close_notify; the originator passes it on as a reset.
            #expect(chain.originator.waitCounter("resets_from_upstream") { $0 >= 1 } >= 1, "\(chain.logs)")
        }

        @Test("a client reset mid-stream reaches the backend as a reset across the mTLS hop", arguments: TLSEndToEnd.backends)
        func clientResetBecomesBackendReset(backend: String) throws {
            let pki = try TestPKIFiles.shared()
            let backendSide = try RawListener()
            let chain = try TLSChain(upstream: Endpoint(host: "127.0.0.1", port: backendSide.port), backend: backend, pki: pki)
            let (first, outcome) = try ResetPropagation.fromClient(entry: chain.entry, backendSide: backendSide, acceptTimeout: 10)
            #expect(first == [UInt8].pattern(seed: 3, count: 10_000), "the backend got the first 10 000 bytes intact")
            #expect(outcome.isReset, "expected the backend to see a reset, got \(outcome)\n\(chain.logs)")
            #expect(chain.originator.waitCounter("resets_from_downstream") { $0 >= 1 } >= 1)
            #expect(chain.terminator.waitCounter("resets_from_downstream") { $0 >= 1 } >= 1, "\(chain.logs)")
        }

        @Test("SIGTERM to both gateways during 20 streams: all finish intact, new connects refused, both exit 0", arguments: TLSEndToEnd.backends)
        func drainOnSigterm(backend: String) throws {
            let pki = try TestPKIFiles.shared()
            let echo = try BackendServer(behavior: .echo, threads: 2)
            defer { echo.stop() }
            let chain = try TLSChain(upstream: echo.endpoint, backend: backend, pki: pki, originatorExtra: ["--drain-timeout", "60s"],
                                     terminatorExtra: ["--drain-timeout", "60s"])
            var streams: [GoodStream] = []
            for i in 0..<20 { streams.append(try GoodStream(chain.entry, seed: 0xD4A1_0000 + UInt64(i))) }
            streams.forEach { $0.start() }
            #expect(try chain.terminator.counter("active") == 20)
            #expect(try chain.terminator.counter("tls_handshakes_downstream") == 20)
            chain.terminator.signal(SIGTERM)
            chain.originator.signal(SIGTERM)
            // Both stop accepting (listeners closed) but keep the open streams flowing.
            // The loops close their listeners shortly after the signal (asynchronously).
            #expect(waitUntil(timeout: 5) {
                !LoopbackListeners.isListening(port: chain.entry.port) && !LoopbackListeners.isListening(port: chain.terminatorEndpoint.port)
            }, "both listeners closed after SIGTERM")
            #expect(throws: (any Error).self, "new connections are refused while draining") {
                let fd = try TestClient.connect(chain.entry, timeout: .seconds(2))
                close(fd)
            }
            #expect(throws: (any Error).self, "the terminator refuses new connections while draining") {
                let fd = try TestClient.connect(chain.terminatorEndpoint, timeout: .seconds(2))
                close(fd)
            }
            let marks = streams.map(\.progress)
            for (s, mark) in zip(streams, marks) {
                #expect(s.waitProgress(beyond: mark), "stream still flowing while draining")
            }
            #expect(chain.originator.process.isRunning && chain.terminator.process.isRunning, "still draining")
            for (i, s) in streams.enumerated() {
                let problem = s.finish()
                #expect(problem == nil, "stream \(i): \(problem ?? "")\n\(chain.logs)")
            }
            #expect(chain.originator.waitExit(timeout: 20) == 0)
            #expect(chain.terminator.waitExit(timeout: 20) == 0)
        }
    }
}
