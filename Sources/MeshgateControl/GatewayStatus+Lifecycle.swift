import Foundation
import MeshgateTLS
import SwiftASN1
import X509

/// When a gateway started serving and when it began draining: what readiness needs beyond the
/// route table. Any thread may read it; `GatewayController.start()` and the process's signal
/// handling write it.
public final class GatewayLifecycle: @unchecked Sendable {
    // Invariant: both fields are only touched with `lock` held.
    private let lock = NSLock()
    private var started: Date?
    private var draining: Date?

    public init() {}

    /// When the loops were started and the first route table published (nil before).
    public var startedAt: Date? {
        lock.lock()
        defer { lock.unlock() }
        return started
    }

    /// Since when the gateway drains (nil while it serves normally).
    public var drainingSince: Date? {
        lock.lock()
        defer { lock.unlock() }
        return draining
    }

    /// The loops run and the first route table is published.
    public func markStarted(at date: Date = Date()) {
        lock.lock()
        if started == nil { started = date }
        lock.unlock()
    }

    /// Shutting down: `/ready` says so from now on (load balancers stop sending new connections).
    public func markDraining(at date: Date = Date()) {
        lock.lock()
        if draining == nil { draining = date }
        lock.unlock()
    }
}

/// What the gateway's own leaf certificate says, read once per loaded identity (the TLS context
/// in use) rather than on every status request.
public final class LeafCertificateCache: @unchecked Sendable {
    /// The leaf certificate's identity and notAfter.
    public struct Info: Sendable, Equatable {
        /// The SPIFFE URI in its subject alternative names, if any.
        public var identity: String?
        public var notAfter: Date?
        /// The file it was read from.
        public var path: String
        /// Its notBefore (nil when not read).
        public var notBefore: Date? = nil
    }

    // Invariant: `entry` is only touched with `lock` held. The context is held strongly, so its
    // identity cannot be reused by another context while it is cached.
    private let lock = NSLock()
    private var entry: (context: TLSContext, info: Info)?

    public init() {}

    /// The info for the certificate `context` was built from (read from its file the first time).
    public func info(for context: TLSContext) -> Info {
        lock.lock()
        if let entry, entry.context === context {
            lock.unlock()
            return entry.info
        }
        lock.unlock()
        let info = Self.read(path: context.configuration.certificateChainPath)
        lock.lock()
        entry = (context, info)
        lock.unlock()
        return info
    }

    /// Records what the certificate of `context` says, as read when it was loaded (so that a
    /// refused rewrite of the file is never shown as the certificate in use).
    public func remember(_ info: Info, for context: TLSContext) {
        lock.lock()
        entry = (context, info)
        lock.unlock()
    }

    /// Reads the first certificate of a PEM file.
    static func read(path: String) -> Info {
        var info = Info(identity: nil, notAfter: nil, path: path)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let documents = try? PEMDocument.parseMultiple(pemString: text),
            let first = documents.first(where: { $0.discriminator == "CERTIFICATE" }),
            let certificate = try? Certificate(derEncoded: first.derBytes)
        else { return info }
        info.notAfter = certificate.notValidAfter
        info.notBefore = certificate.notValidBefore
        if let names = try? certificate.extensions.subjectAlternativeNames {
            for name in names {
                if case .uniformResourceIdentifier(let uri) = name, uri.hasPrefix("spiffe://") {
                    info.identity = uri
                    break
                }
            }
        }
        return info
    }
}
