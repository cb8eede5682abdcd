import Foundation
import MeshgateTestKit
import Testing

/// `meshgate proxy --tls-ticket-keys FILE` (docs/tls.md, "Session ticket keys").
@Suite struct TLSTicketKeysFlagTests {
    /// One base64 line of a valid 80-byte key.
    static let validLine = Data((0..<80).map { UInt8($0) }).base64EncodedString()

    @Test("--tls-ticket-keys without --listen-tls, or with a bad file, exits 2 with one line naming the flag (and file and line)")
    func refusals() throws {
        let pki = try TestPKIFiles.shared()
        let bad = pki.path("bad-ticket-keys-\(getpid())")
        try "# keys\n\(Self.validLine)\nnot base64!\n".write(toFile: bad, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let base = ["proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1"]
        for (arguments, expected) in [
            (base + ["--tls-ticket-keys", bad], "--tls-ticket-keys needs --listen-tls"),
            (base + pki.terminateFlags() + ["--tls-ticket-keys", bad], "--tls-ticket-keys: \(bad):3: not a base64 session ticket key"),
            (
                base + pki.terminateFlags() + ["--tls-ticket-keys", bad + ".missing"],
                "--tls-ticket-keys: cannot read session ticket key file \(bad).missing"
            ),
        ] {
            let p = try MeshgateProcess(arguments)
            #expect(p.waitExit(timeout: 10) == 2)
            let lines = p.stderr.split(separator: "\n", omittingEmptySubsequences: true)
            #expect(lines.count == 1 && p.stderr.contains(expected), "\(arguments.last!): \(p.stderr)")
        }
    }

    @Test("a proxy with a valid key file starts listening")
    func validFileStarts() throws {
        let pki = try TestPKIFiles.shared()
        let file = pki.path("ticket-keys-\(getpid())")
        try "# shared by the replicas\n\(Self.validLine)\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let p = try MeshgateProcess(
            ["proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--threads", "1"] + pki.terminateFlags()
                + ["--tls-ticket-keys", file])
        defer { p.signal(SIGTERM); _ = p.waitExit(timeout: 10) }
        #expect(try p.waitForListening() > 0, "\(p.stderr)")
    }
}
