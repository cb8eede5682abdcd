import Foundation
import Logging
import MeshgateAdmin
import MeshgateControl
import MeshgateIdentity
import MeshgateLoop
import MeshgateProxy
import MeshgateTestKit

#if canImport(Glibc)
    import Glibc
#endif

// Helpers of the admin endpoint tests: a PKI made in-process with MeshgateIdentity, a gateway
// (a real GatewayController on loopback ports) built from a temporary gateway.yaml, an
// AdminServer over it on 127.0.0.1:0, raw HTTP exchanges, and a Prometheus text parser.

// MARK: - PKI

/// An anchor for `cluster.local`, the issuer of cluster `east` and its gateway's leaf, written
/// as the three files a gateway reads. `validFor` / `issuedAt` shape the leaf (an expired one
/// for the readiness test).
struct AdminTestPKI {
    let directory: String
    let anchor: TrustAnchor
    /// Cluster east's issuer (the identity reload tests issue further leaves with it).
    let issuer: ClusterIssuer
    let leaf: LeafIdentity
    var cert: String { directory + "/tls.crt" }
    var key: String { directory + "/tls.key" }
    var trust: String { directory + "/ca.crt" }

    init(directory: String, leafValidity: Duration = .seconds(24 * 3600), issuedAt: Date = Date()) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let past = Date().addingTimeInterval(-7 * 86400)
        anchor = try TrustAnchor.create(trustDomain: "cluster.local", now: past)
        issuer = try ClusterIssuer.create(anchor: anchor, cluster: "east", now: past)
        leaf = try LeafIdentity.issueGateway(issuer: issuer, validity: leafValidity, now: issuedAt)
        try leaf.pemCertificate.write(toFile: cert, atomically: true, encoding: .utf8)
        try leaf.pemPrivateKey.write(toFile: key, atomically: true, encoding: .utf8)
        try anchor.pemCertificate.write(toFile: trust, atomically: true, encoding: .utf8)
    }

    /// A link bundle for cluster `west` under the same anchor, whose gateway is `gateway`.
    func westBundle(gateway: String) -> String {
        let anchors = anchor.pemCertificate.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
        return """
            apiVersion: meshgate/link/v1
            kind: Link
            cluster: west
            gateways:
              - "\(gateway)"
            identity: spiffe://cluster.local/ns/meshgate-west/sa/gateway
            anchors: |
            \(anchors)

            """
    }
}

// MARK: - A gateway with an admin endpoint

/// A `GatewayController` of cluster `east` (one loop) with a registry of two services (one
/// exported), one static route to cluster `west` with a fixed listen address, optionally a
/// links folder holding a bundle of `west` whose gateway is a port nothing listens on, and an
/// `AdminServer` on 127.0.0.1:0 over it.
final class AdminTestGateway {
    /// Holds gateway.yaml, registry.yaml, the PKI (id/) and the links folder.
    let folder: TemporaryFolder
    var directory: String { folder.path }
    let pki: AdminTestPKI
    let base: UInt16
    let controller: GatewayController
    let admin: AdminServer
    /// `127.0.0.1:<port>` of the admin endpoint.
    let adminAddress: String
    private var started = false

    var inboundPort: UInt16 { base }
    /// The static route's fixed listen port.
    var routePort: UInt16 { base + 1 }
    /// Where the static route's (and the linked cluster's) gateway is said to be: nothing listens.
    var deadPort: UInt16 { base + 2 }
    var outboundRange: ClosedRange<UInt16> { (base + 3)...(base + 6) }
    static let routeKey = "default/redis-west:6379"

    /// The data plane's traffic of `controller`, as `meshgate gateway` gives it to its admin server.
    static func traffic(of controller: GatewayController) -> @Sendable () -> TrafficSnapshot? {
        { [server = controller.server] in server.traffic() }
    }

    init(
        label: String, link: Bool = false, leafValidity: Duration = .seconds(24 * 3600), issuedAt: Date = Date(),
        start: Bool = true, traffic: @escaping @Sendable () -> TrafficSnapshot? = { nil }, dataPlaneTraffic: Bool = false
    ) throws {
        folder = try TemporaryFolder(prefix: "meshgate-admin-\(label)")
        let directory = folder.path
        pki = try AdminTestPKI(directory: directory + "/id", leafValidity: leafValidity, issuedAt: issuedAt)
        let b = try LoopbackPorts.freeBlock(count: 7)
        base = b
        let (routePort, deadPort, range) = (b + 1, b + 2, (b + 3)...(b + 6))
        let registry = """
            services:
              - {namespace: default, name: web, ports: [{port: 8080, targetPort: 18080}], endpoints: ["127.0.0.1:18080"], exported: true}
              - {namespace: default, name: db, ports: [{port: 5432, targetPort: 15432}], endpoints: ["127.0.0.1:15432"], exported: false}

            """
        try registry.write(toFile: directory + "/registry.yaml", atomically: true, encoding: .utf8)
        var config = """
            cluster: east
            identity: {cert: id/tls.crt, key: id/tls.key, trust: id/ca.crt}
            inbound: {listen: 127.0.0.1:\(b)}
            outbound: {bind: 127.0.0.1, ports: \(range.lowerBound)-\(range.upperBound)}
            registry: registry.yaml
            loops: 1
            routes:
              - name: redis-west
                namespace: default
                port: 6379
                cluster: west
                gateways: ["127.0.0.1:\(deadPort)"]
                listen: 127.0.0.1:\(routePort)

            """
        if link {
            try FileManager.default.createDirectory(atPath: directory + "/links", withIntermediateDirectories: true)
            try pki.westBundle(gateway: "127.0.0.1:\(deadPort)").write(
                toFile: directory + "/links/west.link.yaml", atomically: true, encoding: .utf8)
            config += "links: {dir: links, probe: {interval: 300ms, timeout: 200ms, failureThreshold: 2}}\n"
        }
        try config.write(toFile: directory + "/gateway.yaml", atomically: true, encoding: .utf8)
        let logger = Logger(label: "admin-test", factory: { _ in SwiftLogNoOpLogHandler() })
        controller = try GatewayController(configPath: directory + "/gateway.yaml", logger: logger)
        admin = AdminServer(controller: controller, traffic: dataPlaneTraffic ? Self.traffic(of: controller) : traffic, logger: logger)
        let bound = try admin.start(host: "127.0.0.1", port: 0)
        adminAddress = "127.0.0.1:\(bound.port)"
        if start { try self.start() }
    }

    /// Starts the controller (loops, first route table, watchers, mirrors).
    func start() throws {
        try controller.start()
        started = true
    }

    /// `GET path` from the admin endpoint.
    func get(_ path: String) throws -> AdminClient.Response {
        try AdminClient.get(adminAddress, path: path, timeout: .seconds(5))
    }

    /// Waits (≤ 10 s) until `/ready` answers 200.
    func waitReady() throws {
        var last = ""
        let ok = waitUntil(timeout: 10) {
            guard let r = try? self.get("/ready") else { return false }
            last = "\(r.status) \(r.text)"
            return r.status == 200
        }
        if !ok { throw TestFailure("the gateway did not become ready: \(last)") }
    }

    func status() throws -> GatewayStatus { try AdminClient.status(adminAddress) }

    deinit {
        admin.syncShutdown()
        controller.stopWatching()
        if started {
            controller.server.stop()
            _ = controller.server.wait(timeout: .seconds(10))
        }
        folder.remove()
    }
}

// MARK: - Raw HTTP

/// A blocking TCP connection to `address` (`a.b.c.d:port`): the descriptor (close-on-exec), or
/// an error naming the address and errno.
func connectIPv4(_ address: String) throws -> Int32 {
    let parts = address.split(separator: ":")
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
    let rc = try SocketAddress.resolve(host: String(parts[0]), port: UInt16(parts[1])!).withSockAddr { connect(fd, $0, $1) }
    guard rc == 0 else {
        let e = errno
        close(fd)
        throw TestFailure("connect to \(address): errno \(e)")
    }
    return fd
}

/// Sends `request` as is on a new connection to `address` and reads until the server closes or
/// 5 s pass: the status code of the first response line (nil when none came) and everything read.
func rawExchange(_ address: String, _ request: [UInt8]) throws -> (status: Int?, text: String) {
    let fd = try connectIPv4(address)
    defer { close(fd) }
    var tv = timeval(tv_sec: 5, tv_usec: 0)
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var sent = 0
    while sent < request.count {
        let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }  // the server may close early (a refused request); read what it said
        sent += n
    }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 && errno == EINTR { continue }  // a signal to this thread is no end of the answer
        if n <= 0 { break }
        out += buf[0..<n]
    }
    let text = String(decoding: out, as: UTF8.self)
    var status: Int? = nil
    if text.hasPrefix("HTTP/1.1 "), let code = Int(text.dropFirst(9).prefix(3)) { status = code }
    return (status, text)
}

/// The body of the one HTTP response in `text` (everything after the blank line that ends its
/// head; empty when there is none).
func responseBody(_ text: String) -> String {
    guard let end = text.range(of: "\r\n\r\n") else { return "" }
    return String(text[end.upperBound...])
}

// MARK: - Prometheus text format

/// One sample line.
struct PromSample: Equatable {
    let name: String
    let labels: [String: String]
    let value: Double
}

/// The text format parsed strictly enough to catch broken output: every sample belongs to a
/// family declared by a `# TYPE` line before it (histogram samples by their `_bucket`, `_sum`
/// and `_count` suffixes), no family is declared twice, label values are quoted and escaped,
/// values are floats.
struct PromText {
    var types: [String: String] = [:]
    var samples: [PromSample] = []

    init(_ text: String) throws {
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            let n = index + 1
            if line.isEmpty { continue }
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                guard parts.count == 2, ["counter", "gauge", "histogram", "summary", "untyped"].contains(String(parts[1])) else {
                    throw TestFailure("line \(n): bad TYPE line: \(line)")
                }
                guard types[String(parts[0])] == nil else { throw TestFailure("line \(n): family \(parts[0]) declared twice") }
                types[String(parts[0])] = String(parts[1])
                continue
            }
            if line.hasPrefix("#") { continue }
            let sample = try Self.sample(line, line: n)
            guard family(of: sample.name) != nil else {
                throw TestFailure("line \(n): sample \(sample.name) has no TYPE line before it")
            }
            samples.append(sample)
        }
    }

    /// The declared family a sample name belongs to.
    func family(of name: String) -> String? {
        if types[name] != nil { return name }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if types[base] == "histogram" || types[base] == "summary" { return base }
        }
        return nil
    }

    func samples(_ name: String) -> [PromSample] { samples.filter { $0.name == name } }

    /// The value of the one sample of `name` whose labels include `labels`.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples(name).filter { s in labels.allSatisfy { s.labels[$0.key] == $0.value } }
        return matching.count == 1 ? matching[0].value : nil
    }

    private static func sample(_ line: String, line n: Int) throws -> PromSample {
        var i = line.startIndex
        while i < line.endIndex, line[i] != "{", line[i] != " " { i = line.index(after: i) }
        let name = String(line[..<i])
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }) else {
            throw TestFailure("line \(n): bad metric name in: \(line)")
        }
        var labels: [String: String] = [:]
        if i < line.endIndex, line[i] == "{" {
            i = line.index(after: i)
            while i < line.endIndex, line[i] != "}" {
                var j = i
                while j < line.endIndex, line[j] != "=" { j = line.index(after: j) }
                let key = String(line[i..<j])
                guard j < line.endIndex, line.index(after: j) < line.endIndex, line[line.index(after: j)] == "\"" else {
                    throw TestFailure("line \(n): label value not quoted: \(line)")
                }
                var k = line.index(j, offsetBy: 2)
                var value = ""
                while k < line.endIndex, line[k] != "\"" {
                    if line[k] == "\\" {
                        k = line.index(after: k)
                        guard k < line.endIndex else { break }
                        value.append(line[k] == "n" ? "\n" : line[k])
                    } else {
                        value.append(line[k])
                    }
                    k = line.index(after: k)
                }
                guard k < line.endIndex else { throw TestFailure("line \(n): unterminated label value: \(line)") }
                labels[key] = value
                i = line.index(after: k)
                if i < line.endIndex, line[i] == "," { i = line.index(after: i) }
            }
            guard i < line.endIndex else { throw TestFailure("line \(n): unterminated labels: \(line)") }
            i = line.index(after: i)
        }
        let rest = line[i...].trimmingCharacters(in: .whitespaces)
        let valueText = rest.split(separator: " ").first.map(String.init) ?? ""
        let value: Double
        switch valueText {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default:
            guard let v = Double(valueText) else { throw TestFailure("line \(n): bad value '\(valueText)' in: \(line)") }
            value = v
        }
        return PromSample(name: name, labels: labels, value: value)
    }
}
