import Foundation
import MeshgateLoad
import Testing
import MeshgateTestKit

#if canImport(Glibc)
    import Glibc
#endif

/// `identity.renew` end to end: west's gateway starts with a 2-minute leaf and renews it itself
/// (before: 100s, validity: 2m, so every ~20 s) while 20 paced echo streams run east → west
/// through a static route and new connections keep arriving.
extension TLSEndToEnd {
    @Suite struct IdentityRenewalTests {
        /// The server leaf west hands a new handshake (PEM), read with openssl s_client as east.
        static func servedLeaf(port: UInt16) -> String? {
            let east = try? GatewayPKI.shared().gateway("east")
            guard let east,
                let run = try? ChildProcess.run(
                    [
                        "openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-cert", east.cert, "-key", east.key, "-cert_chain",
                        east.cert,
                        "-CAfile", east.trust, "-alpn", "meshgate/1", "-tls1_3",
                    ], timeout: 10)
            else { return nil }
            return firstPEM(run.stdout)
        }

        static func firstPEM(_ text: String) -> String? {
            guard let begin = text.range(of: "-----BEGIN CERTIFICATE-----"),
                let end = text.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<text.endIndex)
            else { return nil }
            return String(text[begin.lowerBound..<end.upperBound])
        }

        static func http(_ port: UInt16, _ path: String) -> (code: String, body: String) {
            let run = try? ChildProcess.run(
                ["curl", "-s", "-m", "3", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"], timeout: 10)
            let out = run?.stdout ?? ""
            guard let nl = out.lastIndex(of: "\n") else { return ("", out) }
            return (String(out[out.index(after: nl)...]), String(out[..<nl]))
        }

        @Test("a 2-minute leaf renewed at least 3 times under 20 streams: none fails, new handshakes get the new leaf, /ready stays 200")
        func renewsUnderLoad() throws {
            let pki = try GatewayPKI.shared()
            let echo = try BackendServer(behavior: .echo, threads: 2)
            defer { echo.stop() }
            let dir = try makeTestDirectory("gw-renew")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let base = try LoopbackPorts.freeBlock(count: 20)
            let (westInbound, eastInbound, admin) = (base + 17, base + 16, base + 15)
            let issuer = "\(pki.directory)/west"

            let issue = try ChildProcess.run(
                [MeshgateProcess.binary, "identity", "issue", "--issuer", issuer, "--gateway", "--valid", "2m", "--out", dir + "/west/id"],
                timeout: 30)
            try #require(issue.status == 0, "\(issue.stderr)")
            let westFolder = dir + "/west"
            try writeAtomically(
                GatewayYAML.registry([ServiceSpec(name: "echo", ports: [(7000, echo.port)], endpoints: ["127.0.0.1:\(echo.port)"])]),
                to: westFolder + "/registry.yaml")
            let westConfig = """
                cluster: west
                identity:
                  cert: id/tls.crt
                  key: id/tls.key
                  trust: id/ca.crt
                  renew: {issuer: \(issuer), before: 100s, validity: 2m}
                inbound: {listen: 127.0.0.1:\(westInbound)}
                outbound: {bind: 127.0.0.1, ports: \(base + 18)-\(base + 19)}
                admin: {listen: 127.0.0.1:\(admin)}
                registry: registry.yaml
                limits: {drainTimeout: 2s, connectTimeout: 2s}
                loops: 2

                """
            let west = try GatewayProcess(cluster: "west", directory: westFolder, config: westConfig, inboundPort: westInbound)
            let route = RouteSpec(name: "echo-west", gateways: ["127.0.0.1:\(westInbound)"], target: ("default", "echo", 7000))
            try FileManager.default.createDirectory(atPath: dir + "/east", withIntermediateDirectories: true)
            let east = try GatewayProcess(
                cluster: "east", directory: dir + "/east",
                config: GatewayYAML.gateway(
                    cluster: "east", identity: pki.gateway("east"), inbound: eastInbound, outbound: base...(base + 11), routes: [route]),
                inboundPort: eastInbound)
            let logs = { "\(east.logTail)\n\(west.logTail)" }
            let routePort = try #require(east.initialRoutes[route.key], "\(east.initialRoutes)")
            let target = Endpoint(host: "127.0.0.1", port: routePort)
            let firstLeaf = try #require(Self.firstPEM(try String(contentsOfFile: westFolder + "/id/tls.crt", encoding: .utf8)))
            #expect(Self.servedLeaf(port: westInbound) == firstLeaf)

            var streams: [PacedStream] = []
            for i in 0..<20 { streams.append(try PacedStream(target, seed: 0x5E_1000 + UInt64(i), chunk: 2048, intervalMicros: 50_000)) }
            for s in streams { s.start() }

            var readyCodes: [String: Int] = [:]
            var integrity: [IntegrityReport] = []
            var servedAfterRenewal: [Bool] = []
            var seenRenewals = 0
            let started = Date()
            while Date().timeIntervalSince(started) < 100 {
                readyCodes[Self.http(admin, "/ready").code, default: 0] += 1
                integrity.append(IntegrityRun.run(target: target, sizes: [64 << 10, 1000], concurrency: 2, deadline: .seconds(20)))
                let renewed = west.logLines(containing: "identity renewed").count
                if renewed > seenRenewals {
                    seenRenewals = renewed
                    // The reload follows the write: a new handshake gets the leaf now in the file.
                    let matched = waitUntil(timeout: 5) {
                        guard let text = try? String(contentsOfFile: westFolder + "/id/tls.crt", encoding: .utf8),
                            let leaf = Self.firstPEM(text)
                        else { return false }
                        return Self.servedLeaf(port: westInbound) == leaf && leaf != firstLeaf
                    }
                    servedAfterRenewal.append(matched)
                    if seenRenewals >= 3 && servedAfterRenewal.count >= 3 { break }
                }
                usleep(500_000)
            }
            let failures = streams.compactMap { $0.finish() }
            #expect(seenRenewals >= 3, "renewals in 100 s: \(seenRenewals)\n\(logs())")
            #expect(failures.isEmpty, "\(failures.count) of 20 streams failed: \(failures.prefix(3))\n\(logs())")
            #expect(streams.allSatisfy { $0.exchangeCount > 100 }, "every stream ran through the renewals")
            #expect(servedAfterRenewal.allSatisfy { $0 }, "new handshakes after each renewal got the new leaf: \(servedAfterRenewal)")
            #expect(integrity.allSatisfy { $0.allOK }, "\(integrity.filter { !$0.allOK }.prefix(2))")
            #expect(readyCodes.keys.sorted() == ["200"], "/ready answers: \(readyCodes)")
            #expect(west.logLines(containing: "identity renewal failed").isEmpty, "\(logs())")

            let metrics = Self.http(admin, "/metrics").body
            #expect(metrics.contains("meshgate_identity_expiry_seconds "), "\(metrics.prefix(2000))")
            let okLine = metrics.split(separator: "\n").first { $0.hasPrefix("meshgate_identity_renewals_total{result=\"ok\"}") }
            #expect(okLine.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0 >= 3, "\(okLine ?? "no renewals line")")
            let status = Self.http(admin, "/status").body
            let json = try #require(try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [String: Any])
            let identity = try #require(json["identity"] as? [String: Any])
            #expect((identity["warning"] as? String)?.contains("expires in") == true, "below 1 h left: \(identity)")
            #expect(((identity["renewal"] as? [String: Any])?["renewals"] as? Int ?? 0) >= 3, "\(identity)")
            print(
                "identity renewal: \(seenRenewals) renewals in \(Int(Date().timeIntervalSince(started))) s; 20 streams, \(streams.map(\.exchangeCount).reduce(0, +)) exchanges, 0 failed; \(integrity.count) integrity runs (\(integrity.map(\.connections).reduce(0, +)) new connections) all ok; /ready \(readyCodes)"
            )
            #expect(east.stop() == 0)
            #expect(west.stop() == 0)
        }
    }
}
