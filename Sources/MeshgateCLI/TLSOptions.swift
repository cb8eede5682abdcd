import ArgumentParser
import MeshgateNames
import MeshgateProxy
import MeshgateTLS

/// The TLS flags of `meshgate proxy` (see docs/tls.md).
struct TLSOptions: ParsableArguments {
    @Flag(name: .long, help: "Terminate mutual TLS on the listener (client certificate required).")
    var listenTLS = false

    @Flag(name: .long, help: "Originate mutual TLS to the upstreams (needs --expect-identity).")
    var upstreamTLS = false

    @Option(name: .long, help: "PEM file: this side's certificate, then intermediates.")
    var cert: String?

    @Option(name: .long, help: "PEM file: the certificate's ECDSA P-256 private key.")
    var key: String?

    @Option(name: .long, help: "PEM file: the trust bundle (one or several anchors).")
    var trust: String?

    @Option(name: .long, help: "With --upstream-tls: the identity the upstream must prove (DNS SAN or spiffe:// form).")
    var expectIdentity: String?

    @Option(name: .long, help: "With --listen-tls: a client identity to accept; repeat for several (default: any the bundle vouches for).")
    var allowIdentity: [String] = []

    @Option(name: .long, help: "Refuse a TLS handshake not finished within this long.")
    var handshakeTimeout: String = "10s"

    @Option(name: .long, help: "Kernel TLS after the handshake: auto (when the kernel has it) or off.")
    var ktls: String = "auto"

    @Flag(name: .long, help: "Never resume TLS sessions to upstreams (every handshake is a full one).")
    var noTLSResumption = false

    @Option(name: .long, help: "With --listen-tls: session ticket key file shared with other proxies (default: generated keys).")
    var tlsTicketKeys: String?

    /// The validated TLS configuration, with contexts loaded; errors name the flag and file.
    func configuration() throws -> ProxyTLSConfiguration {
        let timeout = try DurationFlag.parse("handshake-timeout", handshakeTimeout, positive: true)
        guard ktls == "auto" || ktls == "off" else { throw ValidationError("--ktls '\(ktls)': must be auto or off") }
        var result = ProxyTLSConfiguration(handshakeTimeout: timeout, kernelTLS: ktls == "auto")
        guard listenTLS || upstreamTLS else {
            for (flag, given) in [
                ("--cert", cert != nil), ("--key", key != nil), ("--trust", trust != nil),
                ("--expect-identity", expectIdentity != nil), ("--allow-identity", !allowIdentity.isEmpty),
                ("--tls-ticket-keys", tlsTicketKeys != nil),
            ] where given {
                throw ValidationError("\(flag) needs --listen-tls or --upstream-tls")
            }
            return result
        }
        guard let cert else { throw ValidationError("--cert is required with --listen-tls or --upstream-tls") }
        guard let key else { throw ValidationError("--key is required with --listen-tls or --upstream-tls") }
        guard let trust else { throw ValidationError("--trust is required with --listen-tls or --upstream-tls") }
        if !allowIdentity.isEmpty && !listenTLS { throw ValidationError("--allow-identity needs --listen-tls") }
        if expectIdentity != nil && !upstreamTLS { throw ValidationError("--expect-identity needs --upstream-tls") }
        if tlsTicketKeys != nil && !listenTLS { throw ValidationError("--tls-ticket-keys needs --listen-tls") }
        var allowed: Set<WorkloadIdentity>? = nil
        for text in allowIdentity {
            guard let identity = WorkloadIdentity(text) else { throw ValidationError("--allow-identity '\(text)': \(Self.identityForm)") }
            allowed = (allowed ?? []).union([identity])
        }
        if listenTLS {
            var c = TLSConfiguration(role: .server, certificateChainPath: cert, privateKeyPath: key, trustBundlePath: trust)
            c.allowedPeerIdentities = allowed
            // One ticket per handshake: the originating side hands its connection over to the
            // record layer or the kernel right after reading it (later ones would be lost).
            c.ticketCount = 1
            c.ticketsForKTLS = 1
            if let tlsTicketKeys { c.ticketKeys = try Self.ticketKeys(tlsTicketKeys) }
            result.downstream = try context(c)
        }
        if upstreamTLS {
            guard let expectIdentity else { throw ValidationError("--expect-identity is required with --upstream-tls") }
            guard let identity = WorkloadIdentity(expectIdentity) else {
                throw ValidationError("--expect-identity '\(expectIdentity)': \(Self.identityForm)")
            }
            var c = TLSConfiguration(role: .client, certificateChainPath: cert, privateKeyPath: key, trustBundlePath: trust)
            c.sessionCache = noTLSResumption ? nil : TLSSessionCache()
            result.upstream = try context(c)
            result.expectedUpstreamIdentity = identity
        }
        return result
    }

    private static let identityForm =
        "not an identity (SA.NS.serviceaccount.identity.TRUST-DOMAIN or spiffe://TRUST-DOMAIN/ns/NS/sa/SA)"

    /// The ticket key file of `--tls-ticket-keys`; an error names the flag (and the file and line).
    private static func ticketKeys(_ path: String) throws -> TLSTicketKeys {
        do {
            return try TLSTicketKeys(contentsOfFile: path)
        } catch {
            throw ValidationError("--tls-ticket-keys: \(error.message)")
        }
    }

    /// Loads a context; a file error names the flag it came from.
    private func context(_ c: TLSConfiguration) throws -> TLSContext {
        do {
            return try TLSContext(configuration: c)
        } catch {
            let message = error.description
            if error.code == .keyMismatch {
                throw ValidationError("--key \(c.privateKeyPath) does not belong to the certificate in --cert \(c.certificateChainPath)")
            }
            for (flag, path) in [("--trust", c.trustBundlePath), ("--key", c.privateKeyPath), ("--cert", c.certificateChainPath)]
            where message.contains(path) {
                throw ValidationError("\(flag) \(path): \(message)")
            }
            throw ValidationError("TLS setup failed: \(message)")
        }
    }
}
