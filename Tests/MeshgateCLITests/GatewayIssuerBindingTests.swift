import Foundation
import MeshgateLoad
import MeshgateWire
import Testing
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

/// Gateway identities bound to their cluster's issuer, with real `meshgate gateway` processes and
/// identities from `meshgate identity`: a `meshgate-north/gateway` certificate minted by east's
/// issuer is refused by the inbound side (west) and by the outbound side (east's route to "north").
extension TLSEndToEnd {
    @Suite struct GatewayIssuerBindingTests {
        /// `meshgate-north/gateway` issued by east's issuer (what a compromised east could mint).
        static func forgedNorth() throws -> GatewayPKI.Files {
            let pki = try GatewayPKI.shared()
            let folder = "\(pki.directory)/east/forged-north-gateway"
            if !FileManager.default.fileExists(atPath: folder + "/tls.crt") {
                let run = try ChildProcess.run(
                    [MeshgateProcess.binary, "identity", "issue", "--issuer", pki.directory + "/east", "--namespace", "meshgate-north",
                     "--name", "gateway", "--out", folder], timeout: 60)
                guard run.status == 0 else { throw TestFailure("identity issue exited \(run.status): \(run.stderr)") }
            }
            return GatewayPKI.Files(folder: folder)
        }

        /// Sends a probe header as `identity` to `port`; whether the same header came back.
        static func probeAnswered(port: UInt16, identity: GatewayPKI.Files, trust: String) throws -> Bool {
            let header = try TransportHeader.probe(nonce: UInt64.random(in: 1...UInt64.max)).encoded()
            let client = try GatewayTLSClient.start(port: port, identity: identity, trust: trust)
            try client.writeStdin(header)
            client.closeStdin()
            _ = client.waitExit(timeout: 15)
            return Array(client.stdoutData) == header
        }

        @Test("inbound: north's real gateway is answered; meshgate-north/gateway minted by east's issuer is refused and counted")
        func inboundRefusesForgedGateway() throws {
            let pki = try GatewayPKI.shared()
            let forged = try Self.forgedNorth()
            let dir = try makeTestDirectory("gw-issuer-in")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let ports = try GatewayIntegrationTests.Ports()
            let west = try GatewayIntegrationTests.startWest(dir: dir, ports: ports, services: [])
            let trust = pki.gateway("west").trust
            #expect(try Self.probeAnswered(port: ports.westInbound, identity: pki.gateway("north"), trust: trust), "\(west.logTail)")
            #expect(try !Self.probeAnswered(port: ports.westInbound, identity: forged, trust: trust))
            #expect(west.process.waitCounter("tls_refused_identity_issuer_mismatch") { $0 >= 1 } == 1, "\(west.logTail)")
            #expect(!west.logLines(containing: "identity_issuer_mismatch").isEmpty, "\(west.logTail)")
            #expect(west.stop() == 0)
        }

        @Test("outbound: east refuses a 'north' gateway whose certificate east's own issuer minted")
        func outboundRefusesForgedGateway() throws {
            let forged = try Self.forgedNorth()
            let dir = try makeTestDirectory("gw-issuer-out")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let ports = try GatewayIntegrationTests.Ports()
            // A gateway presenting the forged identity on west's port (openssl: a meshgate gateway
            // refuses to start with an identity its own issuer binding rejects).
            let north = try ChildProcess([
                "openssl", "s_server", "-accept", "127.0.0.1:\(ports.westInbound)", "-cert", forged.cert, "-cert_chain", forged.cert,
                "-key", forged.key, "-CAfile", forged.trust, "-Verify", "1", "-tls1_3", "-alpn", "meshgate/1", "-quiet",
            ])
            defer { north.kill() }
            #expect(waitUntil(timeout: 10) { LoopbackListeners.isListening(port: ports.westInbound) || !north.isRunning })
            var route = GatewayIntegrationTests.route("echo-north", ports: ports)
            route.cluster = "north"
            let east = try GatewayIntegrationTests.startEast(dir: dir, ports: ports, routes: [route])
            let port = try #require(east.initialRoutes[route.key], "\(east.initialRoutes)")
            _ = LoopbackPorts.connectErrno(port)
            #expect(east.process.waitCounter("tls_refused_identity_issuer_mismatch") { $0 >= 1 } >= 1, "\(east.logTail)")
            #expect(east.stop() == 0)
        }
    }
}
