import Foundation
import Logging
import Testing

@testable import MeshgateKube
import MeshgateTestKit

/// A test cluster (etcd + the test API server, `scripts/apiserver/cluster.py`) run by a small
/// Python driver that reads commands on stdin (`stop-apiserver`, `start-apiserver`) and removes
/// the cluster on SIGTERM or at the end of its stdin (the test process died).
final class KubeTestCluster: Sendable {
    struct Info: Decodable {
        var server: String
        var etcd: String
        var ca: String
        var tokens: [String: String]
        var kubeconfigs: [String: String]
    }

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// What is missing to run a cluster (etcd, python3), or nil.
    static let missingTools: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let missing = ["etcd", "python3", "openssl"].filter { tool in
            !path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
        }
        return missing.isEmpty
            ? nil : "needs \(missing.joined(separator: " and ")) on PATH (scripts/bootstrap installs them)"
    }()

    private static let driver = #"""
        import os, signal, sys
        from pathlib import Path
        # Foundation's Process starts children with most signals blocked; etcd and the server
        # inherit the mask: unblock, so SIGTERM stops them all.
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        sys.path.insert(0, sys.argv[1])
        from cluster import Cluster
        work = Path(sys.argv[2])
        c = Cluster(work, "1s").start()
        def bye(*_):
            c.remove()
            os._exit(0)
        signal.signal(signal.SIGTERM, bye)
        n = 0
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "stop-apiserver":
                c.stop_apiserver()
            elif cmd == "start-apiserver":
                c.start_apiserver()
            n += 1
            (work / "driver-ack.tmp").write_text(str(n))
            os.rename(work / "driver-ack.tmp", work / "driver-ack")
        bye()
        """#

    let work: String
    let info: Info
    private let process: Process
    private let stdin: Pipe
    private let commands = Counter()

    /// Starts a cluster and waits (up to 30 s) for its cluster.json.
    init() throws {
        work = NSTemporaryDirectory() + "meshgate-kube-cluster-\(UUID().uuidString.prefix(8))"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c", Self.driver, Self.repositoryRoot + "/scripts/apiserver", work,
        ]
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
        self.stdin = stdin
        let deadline = Date().addingTimeInterval(30)
        var info: Info?
        while info == nil, Date() < deadline, process.isRunning {
            if let data = FileManager.default.contents(atPath: work + "/cluster.json") {
                info = try? JSONDecoder().decode(Info.self, from: data)
            }
            if info == nil { Thread.sleep(forTimeInterval: 0.1) }
        }
        guard let info else {
            process.terminate()
            throw KubeError(code: nil, reason: "Test", message: "the test cluster did not start (\(work))")
        }
        self.info = info
    }

    /// Stops everything (SIGTERM to the driver, which removes the cluster) and waits.
    func stop() {
        process.terminate()
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// Stops the API server only (etcd keeps the objects).
    func stopAPIServer() throws { try command("stop-apiserver") }

    /// Starts the API server again on the same port.
    func startAPIServer() throws { try command("start-apiserver") }

    private func command(_ line: String) throws {
        let n = commands.next()
        stdin.fileHandleForWriting.write(Data((line + "\n").utf8))
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let data = FileManager.default.contents(atPath: work + "/driver-ack"),
                Int(String(decoding: data, as: UTF8.self)) ?? 0 >= n
            {
                return
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw KubeError(code: nil, reason: "Test", message: "\(line): no answer from the cluster driver")
    }

    /// A client config for `user` ("admin", "viewer") or a raw token.
    func config(user: String = "admin", token: String? = nil) -> KubeClientConfig {
        let ca = FileManager.default.contents(atPath: info.ca).map { [UInt8]($0) }
        return KubeClientConfig(
            server: info.server, caPEM: ca, auth: .token(token ?? info.tokens[user] ?? ""), namespace: "default")
    }

    /// A client; shut it down after use.
    func client(user: String = "admin", token: String? = nil) -> KubeClient {
        var logger = Logger(label: "kube-test")
        logger.logLevel = .warning
        return KubeClient(config: config(user: user, token: token), logger: logger)
    }

    /// Writes a scratch key, then compacts etcd's history up to that write (through its JSON
    /// gateway): every resourceVersion seen before this call is then too old to watch from.
    func compact() async throws {
        let key = Data("/meshgate-test/bump".utf8).base64EncodedString()
        let put = try await etcd("/v3/kv/put", #"{"key": "\#(key)", "value": "eA=="}"#)
        guard let header = put["header"] as? [String: Any], let rev = header["revision"] as? String else {
            throw KubeError(code: nil, reason: "Test", message: "etcd put: no revision in \(put)")
        }
        let answer = try await etcd("/v3/kv/compaction", #"{"revision": "\#(rev)", "physical": true}"#)
        guard answer["header"] != nil else {
            throw KubeError(code: nil, reason: "Test", message: "etcd compaction: \(answer)")
        }
    }

    private func etcd(_ path: String, _ body: String) async throws -> [String: Any] {
        let data = try await KubeTestHTTP.post(info.etcd + path, body: body)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

/// One cluster around a whole suite (and its nested suites), in `KubeTestCluster.current`.
struct KubeClusterTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let cluster = try KubeTestCluster()
        defer { cluster.stop() }
        try await KubeTestCluster.$current.withValue(cluster) { try await function() }
    }
}

extension KubeTestCluster {
    @TaskLocal static var current: KubeTestCluster?

    /// The suite's cluster.
    static func shared() throws -> KubeTestCluster {
        try #require(current, "no test cluster: run inside KubeAPIServerTests")
    }
}

extension Trait where Self == KubeClusterTrait {
    /// Runs the suite against one test cluster.
    static var kubeCluster: KubeClusterTrait { KubeClusterTrait() }
}

/// A Namespace (cluster-scoped), for tests that need their own.
struct KubeNamespace: KubeResource {
    static let kind = KubeKind(group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false)
    var metadata: KubeObjectMeta
}

extension KubeClient {
    /// Creates a namespace for one test.
    func makeNamespace(_ prefix: String) async throws -> String {
        let name = "\(prefix)-\(UUID().uuidString.prefix(6).lowercased())"
        _ = try await create(KubeNamespace(metadata: .init(name: name)))
        return name
    }
}

extension KubeTestCluster {
    /// An admin client of the shared cluster and a fresh namespace `prefix-…` for `body`; the
    /// client is shut down after it.
    static func withNamespace(_ prefix: String, _ body: (KubeClient, String) async throws -> Void) async throws {
        let client = try shared().client()
        defer { client.syncShutdown() }
        try await body(client, try await client.makeNamespace(prefix))
    }
}
