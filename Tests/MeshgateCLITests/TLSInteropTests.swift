import Foundation
import MeshgateLoad
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension TLSEndToEnd {
    /// meshgate's mTLS against real peers: `openssl s_client` / `s_server` and HAProxy
    /// (`ssl crt … ca-file … verify required`) on either side, data checked by SHA-256 each way.
    @Suite struct TLSInteropTests {
        @Test("openssl s_client (west, verifies the east identity) → meshgate --listen-tls → echo: 1 MiB intact", arguments: TLSEndToEnd.backends)
        func sClientToTerminatingMeshgate(backend: String) throws {
            let pki = try TestPKIFiles.shared()
            let echo = try BackendServer(behavior: .echo)
            defer { echo.stop() }
            let (proxy, endpoint) = try MeshgateProcess.proxy(
                upstreams: [echo.endpoint], backend: backend, extra: pki.terminateFlags(allow: [pki.westIdentity]))
            let client = try OpenSSLPeer.client(
                port: endpoint.port, pki: pki, leaf: "west",
                ["-tls1_3", "-alpn", "meshgate/1", "-verify_return_error", "-verify_hostname", pki.eastIdentity])
            defer { client.kill() }
            let data = [UInt8].pattern(seed: 0x5C11, count: 1 << 20)
            let written = client.writeStdinInBackground(data)
            #expect(client.waitStdout(count: data.count, timeout: 30), "echoed \(client.stdoutCount) of \(data.count) bytes; s_client: \(client.stderrText)\nmeshgate: \(proxy.stderr)")
            #expect(written.wait(timeout: .now() + 10) == .success && client.writeError == nil, "\(client.writeError ?? "")")
            let back = client.stdoutData
            #expect(back.count == data.count)
            #expect(sha256(back) == sha256(data), "the echo came back intact through s_client")
            let c = try proxy.counters(["tls_handshakes_downstream", "tls_refused_downstream", "accepted"])
            #expect(c["tls_handshakes_downstream"] == 1 && c["tls_refused_downstream"] == 0, "\(c)")
            #expect(echo.stats.bytesIn == Int64(data.count))
        }

        @Test("client → meshgate --upstream-tls → openssl s_server -Verify 1 -tls1_3 -alpn meshgate/1: both directions intact", arguments: TLSEndToEnd.backends)
        func originatingMeshgateToSServer(backend: String) throws {
            let pki = try TestPKIFiles.shared()
            let (server, serverPort) = try OpenSSLPeer.server(pki: pki)
            defer { server.kill() }
            let (proxy, endpoint) = try MeshgateProcess.proxy(
                upstreams: [Endpoint(host: "127.0.0.1", port: serverPort)], backend: backend, extra: pki.originateFlags())
            let fd = try TestClient.connect(endpoint)
            defer { close(fd) }
            // Client → s_server (its standard output).
            let up = [UInt8].pattern(seed: 0x5E4E, count: 1 << 20)
            try TestClient.writeAll(fd: fd, bytes: up)
            #expect(server.waitStdout(count: up.count, timeout: 30), "s_server got \(server.stdoutCount) of \(up.count) bytes: \(server.stderrText)\nmeshgate: \(proxy.stderr)")
            #expect(sha256(server.stdoutData) == sha256(up), "s_server received the client's bytes intact")
            // s_server (its standard input) → client.
            let down = [UInt8].pattern(seed: 0xD0E4, count: 1 << 20)
            let written = server.writeStdinInBackground(down)
            let back = TestClient.read(fd: fd, count: down.count, timeout: .seconds(30))
            #expect(written.wait(timeout: .now() + 10) == .success)
            #expect(back.count == down.count, "\(server.stderrText)")
            #expect(sha256(back) == sha256(down), "the client received s_server's bytes intact")
            // s_server verified meshgate's client certificate (west) against the bundle.
            #expect(server.stderrText.contains("CN = \(pki.westIdentity)"), "\(server.stderrText)")
            let c = try proxy.counters(["tls_handshakes_upstream", "tls_refused_upstream"])
            #expect(c["tls_handshakes_upstream"] == 1 && c["tls_refused_upstream"] == 0, "\(c)")
        }

        @Test("client → meshgate --upstream-tls → HAProxy (ssl, verify required, alpn meshgate/1) → echo: 200 streams intact", arguments: TLSEndToEnd.backends)
        func originatingMeshgateToHAProxy(backend: String) throws {
            let pki = try TestPKIFiles.shared()
            let echo = try BackendServer(behavior: .echo, threads: 2)
            defer { echo.stop() }
            let haproxy = try HAProxyProcess { port in
                """
                frontend mtls
                    bind 127.0.0.1:\(port) ssl crt \(pki.combined("east")) ca-file \(pki.bundle) verify required alpn meshgate/1 ssl-min-ver TLSv1.3
                    default_backend echo
                backend echo
                    server echo \(echo.endpoint)

                """
            }
            let (proxy, endpoint) = try MeshgateProcess.proxy(upstreams: [haproxy.endpoint], backend: backend, extra: pki.originateFlags())
            var sizes = TLSChainTests.sizes(count: 200, seed: 7, max: 256 << 10)
            sizes.append(16 << 20)
            let report = IntegrityRun.run(target: endpoint, sizes: sizes, concurrency: 100, deadline: .seconds(60))
            #expect(report.allOK, "\(report)\nmeshgate: \(proxy.stderr.suffix(3000))\nhaproxy: \(haproxy.child.stderrText.suffix(2000))")
            let c = try proxy.counters(["tls_handshakes_upstream", "tls_refused_upstream", "tls_truncated"])
            #expect(c["tls_handshakes_upstream"] == sizes.count && c["tls_refused_upstream"] == 0, "\(c)")
            #expect(c["tls_truncated"] == 0, "HAProxy and meshgate end every stream with close_notify: \(c)")
            #expect(echo.stats.accepted == sizes.count)
        }

        @Test("client → HAProxy (ssl crt west, ca-file, verify required, alpn meshgate/1) → meshgate --listen-tls → echo: 200 streams intact", arguments: TLSEndToEnd.backends)
        func haproxyToTerminatingMeshgate(backend: String) throws {
            let pki = try TestPKIFiles.shared()
            let echo = try BackendServer(behavior: .echo, threads: 2)
            defer { echo.stop() }
            let (proxy, mtls) = try MeshgateProcess.proxy(
                upstreams: [echo.endpoint], backend: backend, extra: pki.terminateFlags(allow: [pki.westIdentity]))
            let haproxy = try HAProxyProcess { port in
                """
                frontend plain
                    bind 127.0.0.1:\(port)
                    default_backend gateway
                backend gateway
                    server east \(mtls) ssl crt \(pki.combined("west")) ca-file \(pki.bundle) verify required verifyhost \(pki.eastIdentity) alpn meshgate/1 ssl-min-ver TLSv1.3

                """
            }
            var sizes = TLSChainTests.sizes(count: 200, seed: 8, max: 256 << 10)
            sizes.append(16 << 20)
            let report = IntegrityRun.run(target: haproxy.endpoint, sizes: sizes, concurrency: 100, deadline: .seconds(60))
            #expect(report.allOK, "\(report)\nmeshgate: \(proxy.stderr.suffix(3000))\nhaproxy: \(haproxy.child.stderrText.suffix(2000))")
            let c = try proxy.counters(["tls_handshakes_downstream", "tls_refused_downstream", "tls_truncated", "accepted"])
            #expect(c["tls_handshakes_downstream"] == sizes.count && c["tls_refused_downstream"] == 0, "\(c)")
            #expect(c["tls_truncated"] == 0, "HAProxy and meshgate end every stream with close_notify: \(c)")
            #expect(echo.stats.accepted == sizes.count)
        }
    }
}
