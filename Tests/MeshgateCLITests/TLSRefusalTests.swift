import Foundation
import MeshgateLoad
import Testing
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

extension TLSEndToEnd {
    /// Each bad peer is refused, counted under its reason (`tls_refused_<reason>`, docs/tls.md),
    /// logged once per burst (rate limited), never reaches the backend, and a good mTLS stream
    /// through the same refusing process keeps flowing with its SHA-256 intact.
    ///
    /// The refusing process is the terminator of an mTLS chain, on one loop thread (the refusals
    /// and the good stream share it); the good stream enters through the originator.
    @Suite struct TLSRefusalTests {
        static let reasons = [
            "not_tls", "protocol_version", "no_certificate", "unknown_ca", "certificate_expired", "certificate_invalid",
            "identity", "alpn", "handshake_timeout", "peer_alert", "peer_closed", "other",
        ]

        /// A chain whose terminator refuses things, an echo backend, and a good stream already flowing.
        struct Bed {
            let echo: BackendServer
            let chain: TLSChain
            let good: GoodStream
            var terminator: MeshgateProcess { chain.terminator }

            init(terminatorExtra: [String] = [], backend: String = "uring") throws {
                let pki = try TestPKIFiles.shared()
                echo = try BackendServer(behavior: .echo)
                chain = try TLSChain(upstream: echo.endpoint, backend: backend, pki: pki, terminatorExtra: ["--threads", "1"] + terminatorExtra)
                good = try GoodStream(chain.entry)
                good.start()
            }

            /// Checks the refusals of one burst: `count` refusals, all with `reason`, on the listener
            /// side, logged once; nothing but the good stream reached the backend; the good stream
            /// flowed during the refusals and ends intact.
            func expectRefused(reason: String, count: Int, progressMark: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
                let seen = terminator.waitCounter("tls_refused_\(reason)", timeout: 15) { $0 >= count }
                let all = try terminator.counters(TLSRefusalTests.reasons.map { "tls_refused_\($0)" } + [
                    "tls_refused_downstream", "tls_refused_upstream", "tls_handshakes_downstream", "tls_handshakes_active",
                ])
                #expect(seen == count, "tls_refused_\(reason): \(all)\n\(chain.logs)", sourceLocation: sourceLocation)
                #expect(all["tls_refused_downstream"] == count, "every refusal counted on the listener side: \(all)", sourceLocation: sourceLocation)
                #expect(all["tls_refused_upstream"] == 0, sourceLocation: sourceLocation)
                for other in TLSRefusalTests.reasons where other != reason {
                    #expect(all["tls_refused_\(other)"] == 0, "counted under \(reason) only: \(all)", sourceLocation: sourceLocation)
                }
                #expect(all["tls_handshakes_downstream"] == 1, "only the good stream's handshake completed: \(all)", sourceLocation: sourceLocation)
                let lines = terminator.refusalLogLines(reason: reason)
                #expect(lines.count == 1, "\(count) refusals logged once with the reason '\(reason)':\n\(terminator.stderr)", sourceLocation: sourceLocation)
                #expect(echo.stats.accepted == 1, "a refused connection never reaches the backend (\(echo.stats.accepted) accepted)", sourceLocation: sourceLocation)
                #expect(good.waitProgress(beyond: progressMark), "the good stream kept flowing", sourceLocation: sourceLocation)
                let problem = good.finish()
                #expect(problem == nil, "\(problem ?? "")\n\(chain.logs)", sourceLocation: sourceLocation)
            }
        }

        /// A case refused by `openssl s_client` against the terminator (east, allows only west).
        struct ClientCase: Sendable, CustomTestStringConvertible {
            let name: String
            let reason: String
            /// The certificate s_client presents (none when nil).
            let leaf: String?
            let arguments: [String]
            /// Text of the alert s_client reports receiving, when the reason has a standard alert.
            let alert: String?
            var testDescription: String { "\(name) → tls_refused_\(reason)" }
        }

        static let clientCases: [ClientCase] = [
            ClientCase(name: "a TLS 1.2-only client", reason: "protocol_version", leaf: "west",
                       arguments: ["-tls1_2", "-alpn", "meshgate/1"], alert: "protocol version"),
            ClientCase(name: "no client certificate", reason: "no_certificate", leaf: nil,
                       arguments: ["-tls1_3", "-alpn", "meshgate/1"], alert: "certificate required"),
            ClientCase(name: "a certificate from another CA", reason: "unknown_ca", leaf: "rogue",
                       arguments: ["-tls1_3", "-alpn", "meshgate/1"], alert: "unknown ca"),
            ClientCase(name: "an expired certificate", reason: "certificate_expired", leaf: "expired",
                       arguments: ["-tls1_3", "-alpn", "meshgate/1"], alert: "certificate expired"),
            ClientCase(name: "a valid certificate of an identity not allowed (other, --allow-identity west)", reason: "identity", leaf: "other",
                       arguments: ["-tls1_3", "-alpn", "meshgate/1"], alert: nil),
            ClientCase(name: "wrong ALPN (other/1)", reason: "alpn", leaf: "west",
                       arguments: ["-tls1_3", "-alpn", "other/1"], alert: "no application protocol"),
        ]

        @Test("refused with its reason while a good stream flows: burst of 3 openssl s_client", arguments: clientCases)
        func refusesBadClient(_ c: ClientCase) throws {
            let pki = try TestPKIFiles.shared()
            let bed = try Bed()
            let mark = bed.good.progress
            // Three at once: counted three times, logged once.
            var clients: [ChildProcess] = []
            defer { clients.forEach { $0.kill() } }
            for _ in 0..<3 {
                clients.append(try OpenSSLPeer.client(port: bed.chain.terminatorEndpoint.port, pki: pki, leaf: c.leaf, c.arguments))
            }
            // The terminator closes each refused connection, so each s_client ends by itself.
            for client in clients {
                #expect(client.waitExit(timeout: 15) != nil, "s_client still connected: \(client.stderrText)")
                if let alert = c.alert {
                    #expect(client.stderrText.contains(alert), "s_client received the \(alert) alert: \(client.stderrText)")
                }
            }
            try bed.expectRefused(reason: c.reason, count: 3, progressMark: mark)
        }

        @Test("plain-text garbage: 20 at once are refused as not_tls at once, logged once")
        func refusesGarbage() throws {
            let bed = try Bed()
            let mark = bed.good.progress
            let start = Date()
            var fds: [Int32] = []
            defer { fds.forEach { close($0) } }
            for _ in 0..<20 {
                let fd = try TestClient.connect(bed.chain.terminatorEndpoint)
                fds.append(fd)
                try TestClient.writeAll(fd: fd, bytes: Array("hello, this is plain text and not TLS at all\r\n".utf8))
            }
            for fd in fds {
                // Refused on sight (well before the 10 s handshake timeout); maybe after an alert.
                let (outcome, _) = TestClient.readAll(fd: fd, timeout: .seconds(5))
                if case .timeout = outcome { Issue.record("garbage connection still open after 5 s") }
                #expect(outcome.bytes < 64, "at most an alert record comes back, got \(outcome)")
            }
            #expect(Date().timeIntervalSince(start) < 5)
            try bed.expectRefused(reason: "not_tls", count: 20, progressMark: mark)
        }

        @Test("a client that opens TCP and sends nothing: refused after --handshake-timeout 1s (3 at once, logged once)")
        func refusesSilentClient() throws {
            let bed = try Bed(terminatorExtra: ["--handshake-timeout", "1s"])
            let mark = bed.good.progress
            var fds: [Int32] = []
            defer { fds.forEach { close($0) } }
            let start = Date()
            for _ in 0..<3 { fds.append(try TestClient.connect(bed.chain.terminatorEndpoint)) }
            for fd in fds {
                let (outcome, _) = TestClient.readAll(fd: fd, timeout: .seconds(6))
                let elapsed = Date().timeIntervalSince(start)
                if case .timeout = outcome { Issue.record("silent connection still open after \(elapsed) s") }
                #expect(outcome.bytes < 64, "\(outcome)")
                #expect(elapsed >= 0.9 && elapsed < 3.5, "closed after \(elapsed) s with --handshake-timeout 1s")
            }
            try bed.expectRefused(reason: "handshake_timeout", count: 3, progressMark: mark)
        }

        /// The start of a ClientHello record (a 512-byte handshake record, only the header and a
        /// few body bytes): a server that reads it must wait for more.
        static let partialClientHello: [UInt8] = [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]
            + [UInt8].pattern(seed: 0xC11E, count: 32) + [0x20]

        @Test("a client that dribbles a ClientHello a byte per second: cut at --handshake-timeout 2s (a deadline, not an idle timer)")
        func refusesDribblingClient() throws {
            // 2 s rather than 1 s: one byte a second then arrives well inside every idle interval,
            // so only a handshake deadline (not an inactivity timer) cuts it.
            let bed = try Bed(terminatorExtra: ["--handshake-timeout", "2s"])
            let mark = bed.good.progress
            let fd = try TestClient.connect(bed.chain.terminatorEndpoint)
            defer { close(fd) }
            let start = Date()
            var sent = 0
            var closedAfter: Double?
            while Date().timeIntervalSince(start) < 8 {
                if sent < Self.partialClientHello.count {
                    var byte = Self.partialClientHello[sent]
                    if send(fd, &byte, 1, Int32(MSG_NOSIGNAL)) != 1 {
                        closedAfter = Date().timeIntervalSince(start)
                        break
                    }
                    sent += 1
                }
                // Wait up to a second for the server to close the connection.
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&p, 1, 1000) == 1 {
                    var buf = [UInt8](repeating: 0, count: 256)
                    let n = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
                    if n <= 0 {
                        closedAfter = Date().timeIntervalSince(start)
                        break
                    }
                }
            }
            guard let closedAfter else {
                Issue.record("a dribbling client was still connected after 8 s (\(sent) bytes sent)")
                return
            }
            #expect(closedAfter >= 1.8 && closedAfter < 4, "cut after \(closedAfter) s, \(sent) bytes dribbled")
            #expect(sent >= 2, "it was dribbling (\(sent) bytes) when cut")
            try bed.expectRefused(reason: "handshake_timeout", count: 1, progressMark: mark)
        }

        @Test("an upstream that accepts TCP and never answers the ClientHello: the originator gives up at --handshake-timeout 1s and resets the client")
        func upstreamHandshakeTimeout() throws {
            let pki = try TestPKIFiles.shared()
            let silent = try RawListener()
            let (origin, entry) = try MeshgateProcess.proxy(
                upstreams: [Endpoint(host: "127.0.0.1", port: silent.port)], backend: "uring",
                extra: pki.originateFlags() + ["--handshake-timeout", "1s", "--threads", "1"])
            let fd = try TestClient.connect(entry)
            defer { close(fd) }
            let held = try silent.accept(timeout: 5)
            defer { close(held) }
            let start = Date()
            let (outcome, _) = TestClient.readAll(fd: fd, timeout: .seconds(6))
            let elapsed = Date().timeIntervalSince(start)
            guard case .reset(bytes: 0) = outcome else {
                Issue.record("the client of a refused upstream handshake must see a reset, got \(outcome)\n\(origin.stderr)")
                return
            }
            #expect(elapsed >= 0.8 && elapsed < 3.5, "reset after \(elapsed) s with --handshake-timeout 1s")
            let c = try origin.counters(["tls_refused_upstream", "tls_refused_handshake_timeout", "tls_refused_downstream", "tls_handshakes_active"])
            #expect(c["tls_refused_upstream"] == 1 && c["tls_refused_handshake_timeout"] == 1 && c["tls_refused_downstream"] == 0, "\(c)")
            #expect(c["tls_handshakes_active"] == 0)
            #expect(origin.refusalLogLines(reason: "handshake_timeout").count == 1, "\(origin.stderr)")
            // The upstream got a ClientHello, then the connection ended.
            let hello = TestClient.read(fd: held, count: 5, timeout: .seconds(2))
            #expect(hello.first == 0x16, "the upstream received a TLS handshake record: \(hello)")
        }

        @Test("upstream with the wrong identity: the originator refuses it (identity) while a good stream through it flows")
        func refusesWrongUpstreamIdentity() throws {
            let pki = try TestPKIFiles.shared()
            let echo = try BackendServer(behavior: .echo)
            defer { echo.stop() }
            // Two terminators: east (the expected identity) and one presenting the other identity.
            let (east, eastEndpoint) = try MeshgateProcess.proxy(
                upstreams: [echo.endpoint], backend: "uring", extra: pki.terminateFlags(leaf: "east", allow: [pki.westIdentity]))
            let (other, otherEndpoint) = try MeshgateProcess.proxy(
                upstreams: [echo.endpoint], backend: "uring", extra: pki.terminateFlags(leaf: "other", allow: [pki.westIdentity]))
            let (origin, entry) = try MeshgateProcess.proxy(
                upstreams: [eastEndpoint, otherEndpoint], backend: "uring",
                extra: pki.originateFlags(expect: pki.eastIdentity) + ["--threads", "1"])
            // The good stream may first land on the wrong upstream (refused, retried).
            let (good, _) = try GoodStream.connect(entry, attempts: 4)
            good.start()
            let mark = good.progress
            // New connections alternate between the upstreams until one is refused for its identity.
            var attempts = 0
            while (try origin.counter("tls_refused_identity")) < 1 && attempts < 6 {
                attempts += 1
                if let fd = try? TestClient.connect(entry) {
                    _ = echoExchange(fd: fd, bytes: [UInt8].pattern(seed: UInt64(attempts), count: 1000), timeout: .seconds(5))
                    close(fd)
                }
            }
            let names = Self.reasons.map { "tls_refused_\($0)" } + ["tls_refused_upstream", "tls_refused_downstream", "tls_handshakes_upstream"]
            let c = try origin.counters(names)
            let refused = c["tls_refused_identity"] ?? -1
            #expect(refused >= 1, "refused for its identity: \(c)\n\(origin.stderr)")
            #expect(c["tls_refused_upstream"] == refused && c["tls_refused_downstream"] == 0, "\(c)")
            for r in Self.reasons where r != "identity" {
                #expect(c["tls_refused_\(r)"] == 0, "counted under identity only: \(c)")
            }
            #expect(origin.refusalLogLines(reason: "identity").count >= 1, "logged with the reason: \(origin.stderr)")
            #expect(origin.refusalLogLines(reason: "identity").count <= refused, "logged at most once per refusal: \(origin.stderr)")
            // The terminator with the wrong identity saw the originator's alert: refused by the client, not by it.
            let o = try other.counters(["tls_refused_downstream", "tls_refused_peer_alert", "tls_handshakes_downstream"])
            #expect(o["tls_refused_downstream"] == refused && o["tls_refused_peer_alert"] == refused, "the other terminator: \(o)\n\(other.stderr)")
            #expect(o["tls_handshakes_downstream"] == 0, "the other terminator: \(o)")
            #expect(good.waitProgress(beyond: mark), "the good stream kept flowing")
            let problem = good.finish()
            #expect(problem == nil, "\(problem ?? "")\n\(origin.stderr.suffix(3000))\n\(east.stderr.suffix(2000))")
        }

        /// A nonblocking socket with a connect to 127.0.0.1:`port` under way.
        static func startConnect(port: UInt16) throws -> Int32 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw TestFailure("socket: \(String(cString: strerror(errno)))") }
            let rc = try LoopbackSocket.connect(fd, port: port)
            if rc != 0 && errno != EINPROGRESS {
                let e = errno
                close(fd)
                throw TestFailure("connect: \(String(cString: strerror(e)))")
            }
            return fd
        }

        /// The stated bounds, for 2000 concurrent half-open handshakes, as resident memory of the
        /// terminating process above its idle size:
        /// - clients that connect and send nothing: ≤ 4 KiB each (measured ≈ 0.6 KiB: no SSL
        ///   object exists before the first byte);
        /// - clients that send a partial ClientHello: ≤ 96 KiB each, on each of three waves in a
        ///   row (measured ≈ 47 KiB on the first, 60–69 KiB on later ones: OpenSSL's SSL object
        ///   and record buffers, plus allocator fragmentation across the loop threads);
        /// - the third wave raises the peak by less than half of what the first took (measured
        ///   5–21 %, shrinking wave after wave: freed state is reused), which a leak of the
        ///   handshake state (≈ 100 %) would not.
        static let silentBoundKiB = 4.0
        static let partialBoundKiB = 96.0

        /// Opens `n` connections to `port`, each sending `hello` (if any), and waits until they are connected.
        static func openHalfOpen(_ n: Int, port: UInt16, hello: [UInt8]?) throws -> (fds: [Int32], connected: Int) {
            var fds: [Int32] = []
            for _ in 0..<n {
                do { fds.append(try Self.startConnect(port: port)) } catch {
                    fds.forEach { close($0) }
                    throw error
                }
            }
            var connected = 0
            let connectDeadline = Date().addingTimeInterval(5)
            for fd in fds {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let ms = Int32(max(0, connectDeadline.timeIntervalSinceNow) * 1000)
                guard poll(&p, 1, ms) == 1, p.revents & Int16(POLLOUT) != 0 else { continue }
                var err: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0, err == 0 else { continue }
                connected += 1
                if let hello {
                    _ = hello.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
            }
            return (fds, connected)
        }

        @Test("2000 concurrent half-open handshakes (silent: ≤ 4 KiB each; partial ClientHello: ≤ 96 KiB each, flat over 3 waves): all cut by the timeout, counted, a good stream flows")
        func halfOpenHandshakes() throws {
            ProcessResources.raiseFileLimit()
            let bed = try Bed(terminatorExtra: ["--handshake-timeout", "2s", "--threads", "2"])
            let pid = bed.terminator.pid
            usleep(300_000)
            let rssIdle = ProcStat.rssKiB(pid)
            let n = 2000
            var peaks: [Int] = []
            let waves: [(name: String, hello: [UInt8]?, bound: Double)] = [
                ("silent", nil, Self.silentBoundKiB),
                ("partial ClientHello", Self.partialClientHello, Self.partialBoundKiB),
                ("partial ClientHello, 2nd wave", Self.partialClientHello, Self.partialBoundKiB),
                ("partial ClientHello, 3rd wave", Self.partialClientHello, Self.partialBoundKiB),
            ]
            for (wave, w) in waves.enumerated() {
                let mark = bed.good.progress
                let (fds, connected) = try Self.openHalfOpen(n, port: bed.chain.terminatorEndpoint.port, hello: w.hello)
                defer { fds.forEach { close($0) } }
                #expect(connected == n, "\(w.name)")
                let active = bed.terminator.waitCounter("tls_handshakes_active", timeout: 1.5) { $0 >= n }
                #expect(active == n, "\(w.name): \(n) handshakes in progress at once (gauge \(active))")
                // The peak: sample until the first of this wave is cut by the timeout.
                var rssPeak = ProcStat.rssKiB(pid)
                let cutBefore = n * wave
                _ = waitUntil(timeout: 5) {
                    rssPeak = max(rssPeak, ProcStat.rssKiB(pid))
                    return ((try? bed.terminator.counter("tls_refused_handshake_timeout")) ?? 0) > cutBefore
                }
                peaks.append(rssPeak)
                let each = Double(rssPeak - rssIdle) / Double(n)
                print("halfOpenHandshakes \(w.name): RSS \(rssIdle) KiB idle → \(rssPeak) KiB with \(n) half-open handshakes: \(each) KiB each")
                #expect(each <= w.bound, "\(w.name): RSS grew \(rssPeak - rssIdle) KiB for \(n) half-open handshakes (\(each) KiB each, bound \(w.bound))")
                #expect(bed.good.waitProgress(beyond: mark, timeout: 5), "\(w.name): the good stream flows while \(n) handshakes hang")
                // All are cut by the handshake timeout, and each client sees its connection end.
                let refused = bed.terminator.waitCounter("tls_refused_handshake_timeout", timeout: 20) { $0 >= n * (wave + 1) }
                #expect(refused == n * (wave + 1), "\(w.name)")
                var stillOpen = fds.count
                _ = waitUntil(timeout: 5) {
                    stillOpen = fds.filter { fd in
                        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                        return poll(&p, 1, 0) != 1
                    }.count
                    return stillOpen == 0
                }
                #expect(stillOpen == 0, "\(w.name): \(stillOpen) half-open connections still open after the timeout")
                #expect(bed.terminator.waitCounter("tls_handshakes_active", timeout: 5) { $0 == 0 } == 0)
            }
            if peaks.count == 4 {
                let first = peaks[1] - peaks[0]
                let last = peaks[3] - peaks[2]
                print("halfOpenHandshakes: peak growth per partial wave \(first), \(peaks[2] - peaks[1]), \(last) KiB")
                #expect(Double(last) < 0.5 * Double(first), "the 3rd partial wave raised the peak by \(last) KiB after \(first) KiB for the 1st: handshake state leaks")
            }
            let c = try bed.terminator.counters(["tls_refused_downstream", "tls_refused_handshake_timeout", "tls_handshakes_downstream"])
            #expect(c["tls_refused_downstream"] == 4 * n && c["tls_refused_handshake_timeout"] == 4 * n, "\(c)")
            let lines = bed.terminator.refusalLogLines(reason: "handshake_timeout")
            #expect(lines.count >= 4 && lines.count <= 4 * 2, "\(4 * n) timeouts in four bursts logged about once per burst: \(lines.count) lines")
            #expect(bed.echo.stats.accepted == 1)
            let problem = bed.good.finish()
            #expect(problem == nil, "\(problem ?? "")\n\(bed.chain.logs)")
        }
    }
}
