import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import NIOPosix
import NIOSSL

/// A small Kubernetes API client: version, list, watch, get, create, replace, delete, over
/// async-http-client on NIO's shared event loop group, JSON bodies through Codable.
///
/// Deadlines: 10 s for lists, gets and writes; a watch asks the server for `timeoutSeconds`
/// and gives up after `timeoutSeconds + 30` s. Every failure is a ``KubeError``.
/// Call ``shutdown()`` (or ``syncShutdown()``) when done.
public final class KubeClient: Sendable {
    /// The configuration the client was made with.
    public let config: KubeClientConfig
    let logger: Logger
    let http: HTTPClient?
    /// Why the TLS settings could not be used (every request then fails with it).
    let setupError: KubeError?
    let tokens: KubeTokenSource
    let base: String
    private let counts = NIOLockedValueBox(KubeRequestCounts())
    private let isShutDown = NIOLockedValueBox(false)

    /// The deadline of lists, gets and writes.
    static let requestTimeout = TimeAmount.seconds(10)
    /// The most a response body may hold (a list of many objects).
    static let maxBody = 256 << 20

    /// A client for `config`. Unusable TLS material (a CA or key that does not parse) makes
    /// every call fail with a ``KubeError`` of reason "TLS".
    public init(config: KubeClientConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        self.tokens = KubeTokenSource(auth: config.auth)
        var server = config.server
        while server.hasSuffix("/") { server.removeLast() }
        self.base = server
        do {
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caPEM = config.caPEM {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(caPEM))
            }
            if config.insecureSkipTLSVerify { tls.certificateVerification = .none }
            if case .clientCertificate(let certPEM, let keyPEM) = config.auth {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certPEM).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: keyPEM, format: .pem))
            }
            var configuration = HTTPClient.Configuration(
                tlsConfiguration: tls, redirectConfiguration: .disallow,
                timeout: .init(connect: .seconds(5), read: nil),
                connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 32))
            configuration.httpVersion = .automatic
            // Fail at once when the server cannot be reached: the informer and the elector retry
            // with their own backoff and report the error meanwhile.
            configuration.connectionPool.retryConnectionEstablishment = false
            self.http = HTTPClient(
                eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration,
                backgroundActivityLogger: logger)
            self.setupError = nil
        } catch {
            self.http = nil
            self.setupError = KubeError(code: nil, reason: "TLS", message: "client TLS settings: \(error)")
        }
    }

    deinit {
        let done = isShutDown.withLockedValue { $0 }
        if !done { http?.shutdown { _ in } }
    }

    /// Closes the client's connections; in-flight requests fail.
    public func shutdown() async {
        guard markShutDown() else { return }
        try? await http?.shutdown()
    }

    /// ``shutdown()`` for synchronous callers (never on an event loop).
    public func syncShutdown() {
        guard markShutDown() else { return }
        try? http?.syncShutdown()
    }

    private func markShutDown() -> Bool {
        isShutDown.withLockedValue { done in
            defer { done = true }
            return !done
        }
    }

    /// Requests sent so far, by verb.
    public var requestCounts: KubeRequestCounts { counts.withLockedValue { $0 } }

    func count(_ verb: KubeVerb) {
        counts.withLockedValue { verb.bump(&$0) }
    }

    /// `GET /version` → `gitVersion`, e.g. "v1.30.2".
    public func version() async throws(KubeError) -> String {
        struct Version: Decodable { var gitVersion: String }
        let body = try await send(.get, path: "/version")
        return try decode(Version.self, body, what: "/version").gitVersion
    }

    /// Lists objects (all namespaces when `namespace` is nil) matching `labelSelector`.
    public func list<T: KubeResource>(
        _ type: T.Type, namespace: String?, labelSelector: KubeLabelSelector?
    ) async throws(KubeError) -> KubeList<T> {
        var query: [(String, String)] = []
        if let labelSelector, !labelSelector.isEmpty { query.append(("labelSelector", labelSelector.description)) }
        let path = KubePath.collection(T.kind, namespace: namespace)
        let body = try await send(.list, path: path, query: query)
        let list = try decode(KubeListBody<T>.self, body, what: "list \(path)")
        return KubeList(items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? "")
    }

    /// Reads one object.
    public func get<T: KubeResource>(_ type: T.Type, namespace: String?, name: String) async throws(KubeError) -> T {
        let path = KubePath.object(T.kind, namespace: namespace, name: name)
        return try decode(T.self, try await send(.get, path: path), what: "get \(path)")
    }

    /// Creates an object (POST); 409 AlreadyExists when the name is taken.
    public func create<T: KubeResource>(_ object: T) async throws(KubeError) -> T {
        let path = KubePath.collection(T.kind, namespace: object.metadata.namespace)
        let body = try await send(.create, path: path, body: try encode(KubeEnvelope(object: object)))
        return try decode(T.self, body, what: "create \(path)")
    }

    /// Replaces an object (PUT); with `metadata.resourceVersion` set, 409 Conflict when it is stale.
    public func replace<T: KubeResource>(_ object: T) async throws(KubeError) -> T {
        let path = KubePath.object(T.kind, namespace: object.metadata.namespace, name: object.metadata.name)
        let body = try await send(.update, path: path, body: try encode(KubeEnvelope(object: object)))
        return try decode(T.self, body, what: "replace \(path)")
    }

    /// Deletes an object; with preconditions, 409 Conflict when the object's uid or
    /// resourceVersion differ.
    public func delete<T: KubeResource>(
        _ type: T.Type, namespace: String?, name: String, preconditionUID: String? = nil,
        preconditionResourceVersion: String? = nil
    ) async throws(KubeError) {
        var options = KubeDeleteOptions()
        if preconditionUID != nil || preconditionResourceVersion != nil {
            options.preconditions = KubeDeleteOptions.Preconditions(uid: preconditionUID, resourceVersion: preconditionResourceVersion)
        }
        let path = KubePath.object(T.kind, namespace: namespace, name: name)
        _ = try await send(.delete, path: path, body: try encode(options))
    }

    func decode<V: Decodable>(_ type: V.Type, _ body: ByteBuffer, what: String) throws(KubeError) -> V {
        do {
            return try JSONDecoder().decode(V.self, from: Data(buffer: body, byteTransferStrategy: .noCopy))
        } catch {
            throw KubeError.decoding(what, error)
        }
    }

    func encode<V: Encodable>(_ value: V) throws(KubeError) -> ByteBuffer {
        do {
            return ByteBuffer(data: try JSONEncoder().encode(value))
        } catch {
            throw KubeError(code: nil, reason: "Encoding", message: "\(error)")
        }
    }
}

/// The body of a list response.
struct KubeListBody<T: KubeResource>: Decodable {
    struct Meta: Decodable { var resourceVersion: String? }
    var items: [T]?
    var metadata: Meta?
}

/// The body of a delete: `meta/v1` DeleteOptions with preconditions.
struct KubeDeleteOptions: Encodable {
    struct Preconditions: Encodable {
        var uid: String?
        var resourceVersion: String?
    }
    var kind = "DeleteOptions"
    var apiVersion = "v1"
    var preconditions: Preconditions?
}
