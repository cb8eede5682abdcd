import Foundation
import MeshgateLoad
import MeshgateWire
import Testing
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

/// `meshgate gateway --check` (the suite and its set-up: GatewayIntegrationTests.swift).
extension TLSEndToEnd.GatewayIntegrationTests {
        // MARK: - e. gateway --check

        @Test("gateway --check: a bad config exits 2 with file:line: field: on stderr (every problem); a good one exits 0")
        func checkReportsErrors() throws {
            let pki = try GatewayPKI.shared()
            let dir = try makeTestDirectory("gw-check")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let id = pki.gateway("east")
            try writeAtomically(GatewayYAML.registry([]), to: dir + "/registry.yaml")

            let good = dir + "/good.yaml"
            try writeAtomically(
                GatewayYAML.gateway(
                    cluster: "east", identity: id, inbound: 4143, outbound: 4200...4299, registry: "registry.yaml",
                    routes: [RouteSpec(name: "echo-west", gateways: ["127.0.0.1:14143"])]),
                to: good)
            let ok = try ChildProcess.run([MeshgateProcess.binary, "gateway", "--config", good, "--check"], timeout: 30)
            #expect(ok.status == 0, "\(ok.stderr)")
            #expect(ok.stdout.contains("OK: cluster east"), "\(ok.stdout)")
            #expect(ok.stderr.isEmpty, "\(ok.stderr)")

            let bad = dir + "/gateway.yaml"
            let text = """
                cluster: east
                identity:
                  cert: \(id.cert)
                  key: \(id.key)
                  trust: \(id.trust)
                inbound:
                  lisen: 127.0.0.1:4143
                  headerTimeout: lots
                outbound:
                  ports: 4200-4299

                """
            try writeAtomically(text, to: bad)
            let run = try ChildProcess.run([MeshgateProcess.binary, "gateway", "--config", bad, "--check"], timeout: 30)
            #expect(run.status == 2, "\(run.stderr)")
            let lines = run.stderr.split(separator: "\n").map(String.init)
            #expect(lines.contains { $0.hasPrefix("\(bad):7: inbound.lisen: unknown key") && $0.contains("listen") }, "\(run.stderr)")
            #expect(lines.contains { $0.hasPrefix("\(bad):8: inbound.headerTimeout: ") }, "\(run.stderr)")
            #expect(lines.allSatisfy { $0.range(of: #"^[^:]+:\d+: [A-Za-z.\[\]0-9]+: "#, options: .regularExpression) != nil }, "\(lines)")
            #expect(!run.stdout.contains("OK"))

            // A broken registry fails the check too, naming the registry file and line.
            try writeAtomically("services:\n  - namespace: default\n    nme: echo\n    ports: [7000]\n", to: dir + "/registry.yaml")
            let reg = try ChildProcess.run([MeshgateProcess.binary, "gateway", "--config", good, "--check"], timeout: 30)
            #expect(reg.status == 2, "\(reg.stderr)")
            #expect(reg.stderr.contains("registry.yaml:3: services[0].nme: unknown key"), "\(reg.stderr)")
        }
}
