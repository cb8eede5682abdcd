import Foundation
import MeshgateLoad
import MeshgateTestKit

/// HAProxy (`haproxy -db -f CONFIG`) with a generated configuration.
final class HAProxyProcess {
    let child: ChildProcess
    let configPath: String

    /// Starts HAProxy with `body` (frontends and backends; `{PORT}` is replaced with a free
    /// port, returned as `port`) and waits until it listens there.
    init(body: (_ port: UInt16) -> String) throws {
        var lastError = ""
        for _ in 0..<3 {
            let port = try RawListener.closedPort()
            let config = """
                global
                    maxconn 4096
                    nbthread 1
                defaults
                    mode tcp
                    timeout connect 5s
                    timeout client 60s
                    timeout server 60s

                """ + body(port)
            let path = NSTemporaryDirectory() + "meshgate-haproxy-\(UUID().uuidString).cfg"
            try config.write(toFile: path, atomically: true, encoding: .utf8)
            let p = try ChildProcess(["haproxy", "-db", "-f", path])
            if waitUntil(timeout: 10, { LoopbackListeners.isListening(port: port) || !p.isRunning }), p.isRunning {
                child = p
                configPath = path
                self.port = port
                return
            }
            lastError = p.stderrText
            p.kill()
            try? FileManager.default.removeItem(atPath: path)
        }
        throw TestFailure("haproxy did not start: \(lastError)")
    }

    let port: UInt16
    var endpoint: Endpoint { Endpoint(host: "127.0.0.1", port: port) }

    deinit {
        child.kill()
        try? FileManager.default.removeItem(atPath: configPath)
    }
}
