import Foundation
import MeshgateDiscovery
import MeshgateLoop
import MeshgateNames
import MeshgateProxy
import MeshgateTLS

/// One line of `meshgate check`.
public struct CheckResult: Codable, Sendable, Equatable {
    /// ✔, ⚠ or ✘.
    public enum Status: String, Codable, Sendable {
        case ok, warning, failed
    }

    /// What was checked.
    public let name: String
    public let status: Status
    /// What was found.
    public let detail: String
    /// What to do about a warning or failure.
    public let hint: String?

    public init(_ name: String, _ status: Status, _ detail: String, hint: String? = nil) {
        self.name = name
        self.status = status
        self.detail = detail
        self.hint = hint
    }
}

/// The checks of `meshgate check` (docs/operations.md): the config, the registry, the identity
/// (files, chain, identity, expiry), and each link (shared trust, reachable, right identity).
/// Reads files and dials linked gateways; changes nothing.
public enum GatewayCheck {
    /// A certificate closer to expiry than this is a warning.
    public static let expiryWarning: TimeInterval = 6 * 3600

    /// Runs every check for the gateway configured at `configPath`. `notAfter` reads a PEM
    /// file's first certificate's expiry (by default the reader the status uses; tests pass dates).
    public static func run(
        configPath: String, probeTimeout: Duration = .seconds(2), now: Date = Date(),
        notAfter: (String) throws -> Date = leafNotAfter
    ) -> [CheckResult] {
        var results: [CheckResult] = []
        let config: GatewayConfig
        do {
            config = try GatewayConfig.load(path: configPath)
            results.append(CheckResult("config valid", .ok, "\(configPath): cluster \(config.cluster), inbound \(config.inbound.listen)"))
        } catch {
            results.append(CheckResult(
                "config valid", .failed, error.errors.map(\.description).joined(separator: "\n"),
                hint: "fix the lines named above (docs/gateway-config.md); nothing else can be checked before"))
            return results
        }
        results += registryCheck(config)
        let identity = identityChecks(config, now: now, notAfter: notAfter)
        results += identity.results
        if let renewal = renewalCheck(config, now: now) { results.append(renewal) }
        if let pool = poolTimeoutCheck(config) { results.append(pool) }
        guard let credentials = identity.credentials else { return results }
        results += linkChecks(config, credentials: credentials, probeTimeout: probeTimeout)
        return results
    }

    /// The expiry of the first certificate in the PEM file at `path` (`LeafCertificateCache.read`).
    public static func leafNotAfter(_ path: String) throws -> Date {
        guard let date = LeafCertificateCache.read(path: path).notAfter else {
            throw InvalidValue("no certificate could be read")
        }
        return date
    }

    static func registryCheck(_ config: GatewayConfig) -> [CheckResult] {
        if let kubernetes = config.kubernetesRegistry { return kubernetesRegistryChecks(kubernetes) }
        return [registryFileCheck(config)]
    }

    static func registryFileCheck(_ config: GatewayConfig) -> CheckResult {
        guard let path = config.registry else { return CheckResult("registry loaded", .ok, "no registry: this cluster exports nothing") }
        do {
            let r = try Registry.load(path: path)
            return CheckResult("registry loaded", .ok, "\(path): \(r.services.count) service(s), \(r.exportedServices.count) exported")
        } catch {
            return CheckResult(
                "registry loaded", .failed, error.errors.map(\.description).joined(separator: "\n"),
                hint: "fix the registry; a running gateway keeps the last good one meanwhile")
        }
    }

    /// The identity checks (`IdentityVerification`, shared with `gateway --check`, the start and
    /// hot reloads); the credentials when the files load, for the link probes.
    static func identityChecks(
        _ config: GatewayConfig, now: Date, notAfter: (String) throws -> Date
    ) -> (results: [CheckResult], credentials: GatewayCredentials?) {
        let v = IdentityVerification.run(
            config.identity, expected: config.gatewayIdentity, cluster: config.cluster,
            handshakeTimeout: config.inbound.handshakeTimeout, now: now, notAfter: notAfter)
        return (v.results, v.credentials)
    }

    static func linkChecks(_ config: GatewayConfig, credentials: GatewayCredentials, probeTimeout: Duration) -> [CheckResult] {
        guard let links = config.links else { return [CheckResult("links", .ok, "no links folder: this cluster mirrors nothing")] }
        var isFolder: ObjCBool = false
        if !FileManager.default.fileExists(atPath: links.dir, isDirectory: &isFolder) {
            return [CheckResult("links", .failed, "\(links.dir): the links folder does not exist", hint: "create it (mkdir -p \(links.dir)); meshgate link add puts bundles there")]
        }
        let listing = LinksFolder.load(folder: links.dir)
        var results: [CheckResult] = []
        for e in listing.errors {
            results.append(CheckResult("link bundle valid", .failed, e.description, hint: "fix or remove the file (meshgate link remove NAME)"))
        }
        if listing.bundles.isEmpty && listing.errors.isEmpty {
            results.append(CheckResult("links", .ok, "\(links.dir): no bundles"))
        }
        for bundle in listing.bundles {
            let name = "link \(bundle.cluster)"
            do {
                try bundle.checkLinkable(into: config)
                results.append(CheckResult("\(name): trust shared", .ok, "shares a trust anchor with \(config.identity.trust)"))
            } catch {
                results.append(CheckResult(
                    "\(name): trust shared", .failed, error.errors.map(\.description).joined(separator: "\n"),
                    hint: "a bundle names its own cluster's gateway identity in our trust domain, and linked clusters need one trust anchor in both bundles (docs/links.md)"))
                continue
            }
            // All addresses of a bundle at once (as a mirror probes them): dead ones cost one
            // probe timeout in all, not one each.
            let lines = LinkCheckLines(count: bundle.gateways.count)
            GatewayProbe.concurrently(bundle.gateways.count) { i in
                let gateway = bundle.gateways[i]
                let what = "\(name): \(gateway) reachable as \(bundle.identity)"
                do {
                    let address = try SocketAddress.resolve(host: gateway.host, port: gateway.port)
                    let rtt = try GatewayProbe.probe(address, context: credentials.client, expected: bundle.identity, timeout: probeTimeout)
                    lines.set(i, CheckResult(what, .ok, "probe answered in \(String(format: "%.2f", rtt.seconds * 1000)) ms"))
                } catch {
                    lines.set(i, CheckResult(
                        what, .failed, "\(error)",
                        hint: "is \(bundle.cluster)'s gateway running, and its port \(gateway.port) reachable from here? Only that port needs to be open between clusters"))
                }
            }
            results += lines.all
        }
        return results
    }

    /// Completes a TLS handshake in memory between a client and a server made from `credentials`.
    static func inMemoryHandshake(_ credentials: GatewayCredentials, expecting identity: WorkloadIdentity) -> Result<Void, TLSError> {
        do {
            let client = try TLSConnection(context: credentials.client, expectedPeerIdentity: identity, sessionCacheKey: "meshgate-check")
            let server = try TLSConnection(context: credentials.server)
            for _ in 0..<20 {
                let c = client.handshake()
                server.receive(client.takeOutbound())
                let s = server.handshake()
                client.receive(server.takeOutbound())
                if case .failed(let e) = c { return .failure(e) }
                if case .failed(let e) = s { return .failure(e) }
                if c == .complete && s == .complete { return .success(()) }
            }
            return .failure(TLSError(.internalError, "the handshake did not finish"))
        } catch {
            return .failure(error)
        }
    }
}

/// "2d 3h", "5h 10m", "12m": a rough length of time for humans.
enum DurationWords {
    static func of(_ seconds: TimeInterval) -> String {
        let s = Int(seconds)
        if s >= 86400 { return "\(s / 86400)d \((s % 86400) / 3600)h" }
        if s >= 3600 { return "\(s / 3600)h \((s % 3600) / 60)m" }
        return "\(max(s / 60, 0))m"
    }
}

/// The probe lines of one bundle, filled in by concurrent probes, in address order.
private final class LinkCheckLines: @unchecked Sendable {
    // Invariant: `lines` is only touched with `lock` held.
    private let lock = NSLock()
    private var lines: [CheckResult?]

    init(count: Int) { lines = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ line: CheckResult) { lock.withLock { lines[i] = line } }

    var all: [CheckResult] { lock.withLock { lines.compactMap { $0 } } }
}
