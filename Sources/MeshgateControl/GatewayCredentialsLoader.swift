import MeshgateProxy
import MeshgateTLS

/// Loads a gateway's TLS contexts from its identity files.
public enum GatewayCredentialsLoader {
    /// Server and client contexts from `files`. The server encrypts its session tickets under the
    /// keys of `files.ticketKeys`, read again at each load (so a reload picks up a rotated file),
    /// or else under the process's generated keys. Errors name the file at fault.
    public static func load(_ files: IdentityFiles, handshakeTimeout: Duration) throws(ConfigErrors) -> GatewayCredentials {
        do {
            var server = TLSConfiguration(role: .server, certificateChainPath: files.cert, privateKeyPath: files.key, trustBundlePath: files.trust)
            if let path = files.ticketKeys {
                server.ticketKeys = try TLSTicketKeys(contentsOfFile: path)
            }
            // One ticket per handshake: the originating side hands over right after reading it.
            server.ticketCount = 1
            server.ticketsForKTLS = 1
            // A peer presenting `meshgate-<c>/gateway` must chain through cluster c's issuer.
            server.bindsGatewayIssuers = true
            var client = TLSConfiguration(role: .client, certificateChainPath: files.cert, privateKeyPath: files.key, trustBundlePath: files.trust)
            client.sessionCache = TLSSessionCache()
            client.bindsGatewayIssuers = true
            return GatewayCredentials(server: try TLSContext(configuration: server), client: try TLSContext(configuration: client))
        } catch {
            let message = error.description
            let file: String
            let field: String
            if error.code == .keyMismatch {
                (file, field) = (files.key, "identity.key")
            } else if let keys = files.ticketKeys, message.contains(keys) {
                (file, field) = (keys, "identity.ticketKeys")
            } else if message.contains(files.trust) {
                (file, field) = (files.trust, "identity.trust")
            } else if message.contains(files.key) {
                (file, field) = (files.key, "identity.key")
            } else {
                (file, field) = (files.cert, "identity.cert")
            }
            throw ConfigErrors([ConfigError(file: file, line: nil, field: field, message: message)])
        }
    }
}
