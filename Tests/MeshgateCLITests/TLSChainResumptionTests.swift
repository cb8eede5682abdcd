import Foundation
import MeshgateLoad
import Testing
import MeshgateTestKit

extension TLSEndToEnd {
    /// Session resumption through the chain, counted on both sides.
    @Suite struct TLSChainResumptionTests {
        static let counters = ["tls_handshakes_upstream", "tls_sessions_resumed", "tls_handshakes_downstream", "tls_sessions_resumed_downstream"]

        @Test("20 streams one after another: the first is a full handshake, the 19 others resume, and both sides count them", arguments: TLSEndToEnd.backends)
        func sequentialStreamsResume(backend: String) throws {
            let pki = try TestPKIFiles.shared()
            let echo = try BackendServer(behavior: .echo, threads: 1)
            defer { echo.stop() }
            let chain = try TLSChain(upstream: echo.endpoint, backend: backend, pki: pki)
            let report = IntegrityRun.run(target: chain.entry, sizes: Array(repeating: 1000, count: 20), concurrency: 1)
            #expect(report.ok == 20 && report.mismatches == 0, "\(report)\n\(chain.logs)")
            let o = try chain.originator.counters(Self.counters)
            let t = try chain.terminator.counters(Self.counters)
            #expect(o["tls_handshakes_upstream"] == 20 && t["tls_handshakes_downstream"] == 20, "originator \(o)\nterminator \(t)")
            #expect(o["tls_sessions_resumed"] == 19, "originator \(o)\n\(chain.logs)")
            #expect(t["tls_sessions_resumed_downstream"] == 19, "terminator \(t)\n\(chain.logs)")
        }

        @Test("--no-tls-resumption: every stream is a full handshake on both sides", arguments: TLSEndToEnd.backends)
        func resumptionOff(backend: String) throws {
            let pki = try TestPKIFiles.shared()
            let echo = try BackendServer(behavior: .echo, threads: 1)
            defer { echo.stop() }
            let chain = try TLSChain(upstream: echo.endpoint, backend: backend, pki: pki, originatorExtra: ["--no-tls-resumption"])
            let report = IntegrityRun.run(target: chain.entry, sizes: Array(repeating: 1000, count: 10), concurrency: 1)
            #expect(report.ok == 10, "\(report)\n\(chain.logs)")
            let o = try chain.originator.counters(Self.counters)
            let t = try chain.terminator.counters(Self.counters)
            #expect(o["tls_handshakes_upstream"] == 10 && o["tls_sessions_resumed"] == 0, "originator \(o)")
            #expect(t["tls_handshakes_downstream"] == 10 && t["tls_sessions_resumed_downstream"] == 0, "terminator \(t)")
        }
    }
}
