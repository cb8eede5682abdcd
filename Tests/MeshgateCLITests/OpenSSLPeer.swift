import Foundation
import MeshgateLoad
import MeshgateTestKit

/// `openssl s_client` / `s_server` with the test PKI.
enum OpenSSLPeer {
    /// `openssl s_client` to 127.0.0.1:`port` presenting `leaf` (none when nil), with standard
    /// input kept open (`-quiet` implies `-ign_eof`: it stays connected until the server closes).
    static func client(port: UInt16, pki: TestPKIFiles, leaf: String?, _ extra: [String]) throws -> ChildProcess {
        var argv = ["openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", pki.bundle, "-quiet", "-nocommands"]
        if let leaf { argv += ["-cert", pki.cert(leaf), "-cert_chain", pki.chain(leaf), "-key", pki.key(leaf)] }
        return try ChildProcess(argv + extra)
    }

    /// `openssl s_server -Verify 1 -verify_return_error -tls1_3 -alpn meshgate/1` presenting `leaf`,
    /// listening on an ephemeral port; waits until it listens.
    static func server(pki: TestPKIFiles, leaf: String = "east") throws -> (ChildProcess, UInt16) {
        var lastError = ""
        for _ in 0..<3 {
            let port = try RawListener.closedPort()
            let p = try ChildProcess([
                "openssl", "s_server", "-accept", "127.0.0.1:\(port)", "-cert", pki.cert(leaf), "-cert_chain", pki.chain(leaf),
                "-key", pki.key(leaf), "-CAfile", pki.bundle, "-Verify", "1", "-verify_return_error", "-tls1_3",
                "-alpn", "meshgate/1", "-quiet",
            ])
            if waitUntil(timeout: 10, { LoopbackListeners.isListening(port: port) || !p.isRunning }), p.isRunning {
                return (p, port)
            }
            lastError = p.stderrText
            p.kill()
        }
        throw TestFailure("openssl s_server did not start: \(lastError)")
    }
}
