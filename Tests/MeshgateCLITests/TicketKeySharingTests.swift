import Foundation
import MeshgateLoad
import MeshgateTestKit
import Testing

/// client → originating `meshgate proxy` (one loop, so its round robin strictly alternates)
/// → two terminating `meshgate proxy` processes S1, S2 (east's identity, each with its own
/// `--tls-ticket-keys` file) → `upstream`. The replicas of one gateway, with the peer in front.
struct TicketKeyReplicas {
    let originator: MeshgateProcess
    let replicas: [MeshgateProcess]
    /// Where clients connect (the originator's listener).
    let entry: Endpoint

    /// `keyFiles[i]` is replica i's key file.
    init(upstream: Endpoint, backend: String, pki: TestPKIFiles, keyFiles: [String]) throws {
        let started = try keyFiles.map { file in
            try MeshgateProcess.proxy(
                upstreams: [upstream], backend: backend,
                extra: pki.terminateFlags(allow: [pki.westIdentity]) + ["--tls-ticket-keys", file])
        }
        replicas = started.map(\.0)
        (originator, entry) = try MeshgateProcess.proxy(
            upstreams: started.map(\.1), backend: backend, extra: pki.originateFlags() + ["--threads", "1"])
    }

    /// Every process's log, for failure messages.
    var logs: String {
        let named = [("originator", originator)] + zip(["S1", "S2"], replicas).map { ($0, $1) }
        return named.map { name, process in "\(name):\n\(process.stderr.suffix(2000))" }.joined(separator: "\n")
    }
}

extension TLSEndToEnd {
    /// Two gateway replicas sharing one session ticket key file (docs/tls.md, "Session ticket
    /// keys") resume each other's tickets; with different files they resume none.
    ///
    /// The originating side keeps its tickets per expected identity — the same for S1 and S2 —
    /// and offers the newest; a terminator issues a ticket only after a full handshake (not
    /// after a resumption, the ticket being far from due for renewal). So with shared keys the
    /// first connection (to S1) is the only full handshake and its ticket resumes on S2 as on S1;
    /// with different keys each connection presents the other replica's ticket, which the
    /// replica cannot decrypt: a full handshake every time, and nothing resumed anywhere.
    @Suite struct TicketKeySharingTests {
        static let upstreamCounters = ["tls_handshakes_upstream", "tls_sessions_resumed"]
        static let downstreamCounters = ["tls_handshakes_downstream", "tls_sessions_resumed_downstream"]
        static let connections = 10

        /// `count` key files made by `meshgate identity ticket-keys` in a new folder.
        static func keyFiles(_ count: Int) throws -> (folder: String, files: [String]) {
            let folder = try makeTestDirectory("ticket-key-sharing")
            let files = try (1...count).map { n in
                let file = "\(folder)/ticket-keys-\(n)"
                let run = try ChildProcess.run([MeshgateProcess.binary, "identity", "ticket-keys", "--out", file], timeout: 30)
                guard run.status == 0 else { throw TestFailure("identity ticket-keys exited \(run.status): \(run.stderr)") }
                return file
            }
            return (folder, files)
        }

        /// Runs ``connections`` streams one after another through two replicas, replica i with
        /// the key file numbered `keyFileIndexes[i]` (fresh files, one per distinct number), and
        /// returns the originator's and each replica's counters.
        static func run(
            keyFileIndexes: [Int], backend: String
        ) throws -> (originator: [String: Int], replicas: [[String: Int]], logs: String) {
            let pki = try TestPKIFiles.shared()
            let (folder, files) = try keyFiles(Set(keyFileIndexes).count)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let echo = try BackendServer(behavior: .echo, threads: 1)
            defer { echo.stop() }
            let chain = try TicketKeyReplicas(
                upstream: echo.endpoint, backend: backend, pki: pki, keyFiles: keyFileIndexes.map { files[$0] })
            let report = IntegrityRun.run(target: chain.entry, sizes: Array(repeating: 1000, count: connections), concurrency: 1)
            #expect(report.ok == connections && report.mismatches == 0, "\(report)\n\(chain.logs)")
            return (
                try chain.originator.counters(upstreamCounters),
                try chain.replicas.map { try $0.counters(downstreamCounters) },
                chain.logs
            )
        }

        /// One arrangement of key files and the resumptions it must give.
        struct Case: Sendable, CustomTestStringConvertible {
            let testDescription: String
            /// Replica i uses the key file numbered `keyFileIndexes[i]`.
            let keyFileIndexes: [Int]
            /// `tls_sessions_resumed` on the originator.
            let resumedUpstream: Int
            /// `tls_sessions_resumed_downstream` on S1 and S2.
            let resumedDownstream: [Int]
        }

        static let cases = [
            // The first connection (S1) is the only full handshake; S2 never makes one, so all
            // its 5 resumptions are of the ticket S1 issued.
            Case(testDescription: "one key file for S1 and S2", keyFileIndexes: [0, 0], resumedUpstream: 9, resumedDownstream: [4, 5]),
            // Control: each replica is offered the other's newest ticket and cannot decrypt it.
            Case(testDescription: "different key files", keyFileIndexes: [0, 1], resumedUpstream: 0, resumedDownstream: [0, 0]),
        ]

        @Test(
            "10 connections alternating between S1 and S2: shared keys resume all but the first on either replica, different keys none",
            arguments: cases, TLSEndToEnd.backends)
        func resumptionAcrossReplicas(_ sharing: Case, backend: String) throws {
            let (o, s, logs) = try Self.run(keyFileIndexes: sharing.keyFileIndexes, backend: backend)
            let failure = "originator \(o)\nS1 \(s[0])\nS2 \(s[1])\n\(logs)"
            #expect(o["tls_handshakes_upstream"] == Self.connections && o["tls_sessions_resumed"] == sharing.resumedUpstream, "\(failure)")
            // Round robin from one loop: each replica served half of the connections.
            #expect(s.map { $0["tls_handshakes_downstream"] } == [5, 5], "\(failure)")
            #expect(s.map { $0["tls_sessions_resumed_downstream"] } == sharing.resumedDownstream, "\(failure)")
        }
    }
}
