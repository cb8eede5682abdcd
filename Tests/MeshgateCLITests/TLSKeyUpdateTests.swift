import Foundation
import MeshgateLoad
import Testing
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

extension TLSEndToEnd {
    /// A TLS 1.3 KeyUpdate from a real peer on the user-space path: meshgate's record layer
    /// must follow the peer's new key and, when asked, answer with its own, in order.
    @Suite struct TLSKeyUpdateTests {
        @Test(
            "openssl s_server sends KeyUpdate(update_requested): meshgate follows and answers it, both directions stay intact",
            arguments: TLSEndToEnd.backends)
        func followsAndAnswersKeyUpdate(backend: String) throws {
            let pki = try TestPKIFiles.shared()
            // Not -quiet: s_server reads its commands ('K' = KeyUpdate asking for one back) from stdin.
            let port = try RawListener.closedPort()
            let server = try ChildProcess([
                "openssl", "s_server", "-accept", "127.0.0.1:\(port)", "-cert", pki.cert("east"), "-cert_chain",
                pki.chain("east"), "-key", pki.key("east"), "-CAfile", pki.bundle, "-Verify", "1", "-verify_return_error",
                "-tls1_3", "-alpn", "meshgate/1",
            ])
            defer { server.kill() }
            #expect(waitUntil(timeout: 10) { LoopbackListeners.isListening(port: port) }, "\(server.stderrText)")
            let (proxy, endpoint) = try MeshgateProcess.proxy(
                upstreams: [Endpoint(host: "127.0.0.1", port: port)], backend: backend, extra: pki.originateFlags())
            let fd = try TestClient.connect(endpoint)
            defer { close(fd) }
            func serverSaw(_ text: String) -> Bool {
                waitUntil(timeout: 10) { String(decoding: server.stdoutData, as: UTF8.self).contains(text) }
            }

            try TestClient.writeAll(fd: fd, bytes: Array("before-the-update\n".utf8))
            #expect(serverSaw("before-the-update"), "\(server.stderrText)")
            try server.writeStdin(Array("K\n".utf8))
            #expect(proxy.waitCounter("tls_key_updates") { $0 >= 1 } == 1, "meshgate read the KeyUpdate\n\(proxy.stderr)")
            // s_server only reads this if meshgate answered with its own KeyUpdate and then
            // sealed the bytes with its next key.
            try TestClient.writeAll(fd: fd, bytes: Array("after-the-update\n".utf8))
            #expect(serverSaw("after-the-update"), "\(String(decoding: server.stdoutData, as: UTF8.self))")
            // And meshgate opens what s_server seals with its next key.
            try server.writeStdin(Array("from-the-server\n".utf8))
            let back = TestClient.read(fd: fd, count: 16, timeout: .seconds(10))
            #expect(back == Array("from-the-server\n".utf8))
            let c = try proxy.counters(["tls_key_updates", "resets_from_upstream", "resets_from_downstream"])
            #expect(c["resets_from_upstream"] == 0 && c["resets_from_downstream"] == 0, "\(c)")
        }
    }
}
