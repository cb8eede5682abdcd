import Foundation
import MeshgateTLS
import Testing

@testable import MeshgateControl

/// `identity.ticketKeys` in gateway.yaml, and its loading with the identity.
@Suite struct TicketKeysConfigTests {
    func parse(_ identity: String) throws -> GatewayConfig {
        try GatewayConfig.parse(yaml: "cluster: west\nidentity:\n" + identity, fileName: "gateway.yaml", baseDirectory: "/etc/meshgate")
    }

    @Test("absent: no key file; present: a path resolved against the config's folder, watched with the identity files")
    func parsesPath() throws {
        let plain = try parse("  cert: tls.crt\n  key: tls.key\n  trust: ca.crt\n").identity
        #expect(plain.ticketKeys == nil)
        #expect(plain.paths == ["/etc/meshgate/tls.crt", "/etc/meshgate/tls.key", "/etc/meshgate/ca.crt"])
        let shared = try parse("  cert: tls.crt\n  key: tls.key\n  trust: ca.crt\n  ticketKeys: keys/tickets\n").identity
        #expect(shared.ticketKeys == "/etc/meshgate/keys/tickets")
        #expect(shared.paths.last == "/etc/meshgate/keys/tickets")
        #expect(shared != plain)  // a changed field reloads the identity
    }

    @Test("a misspelt key is refused naming it")
    func misspelt() {
        #expect(
            gatewayErrors("cluster: west\nidentity:\n  cert: tls.crt\n  key: tls.key\n  trust: ca.crt\n  ticketkeys: k\n") == [
                "gateway.yaml:6: identity.ticketkeys: unknown key (did you mean ticketKeys?)"
            ])
    }

    @Test("the loader reads the key file into the server context; a bad file is refused as identity.ticketKeys, naming file and line")
    func loads() throws {
        let dir = try MirrorTestPKI.directory()
        let keys = "\(dir)/ticket-keys-\(UUID().uuidString)"
        let key = TLSTicketKey.random()
        try "# shared\n\(TLSTicketKeys.keyFileLine(key))\n".write(toFile: keys, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: keys) }
        let files = IdentityFiles(cert: "\(dir)/west.pem", key: "\(dir)/west.key", trust: "\(dir)/bundle.pem", ticketKeys: keys)
        let credentials = try GatewayCredentialsLoader.load(files, handshakeTimeout: .seconds(5))
        #expect(credentials.server.configuration.ticketKeys.keyNames == [key.name])
        let generated = IdentityFiles(cert: files.cert, key: files.key, trust: files.trust)
        #expect(
            try GatewayCredentialsLoader.load(generated, handshakeTimeout: .seconds(5)).server.configuration.ticketKeys
                === TLSTicketKeys.processWide)

        try "# shared\n\(TLSTicketKeys.keyFileLine(key))\nAAAA\n".write(toFile: keys, atomically: true, encoding: .utf8)
        #expect(
            errorLines { () throws(ConfigErrors) in _ = try GatewayCredentialsLoader.load(files, handshakeTimeout: .seconds(5)) } == [
                "\(keys): identity.ticketKeys: invalidConfiguration: \(keys):3: a session ticket key is 80 bytes (name 16 | HMAC 32 | AES 32), this one 3"
            ])
    }
}
