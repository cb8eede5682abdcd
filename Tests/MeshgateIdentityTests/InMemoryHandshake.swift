import MeshgateNames
import MeshgateTLS

/// A client and a server ``TLSConnection`` wired back to back in memory (the pattern of
/// Tests/MeshgateTLSTests/BackToBack.swift, with the public API only).
enum InMemoryHandshake {
    /// Runs the handshake: alternates steps and ciphertext transfers until no bytes move.
    static func run(client: TLSConnection, server: TLSConnection, rounds: Int = 20) {
        for _ in 0..<rounds {
            _ = client.handshake()
            let toServer = client.takeOutbound()
            if !toServer.isEmpty { server.receive(toServer) }
            _ = server.handshake()
            let toClient = server.takeOutbound()
            if !toClient.isEmpty { client.receive(toClient) }
            if toServer.isEmpty && toClient.isEmpty { return }
        }
    }

    /// A context for `role` from an identity folder (`tls.crt`, `tls.key`, `ca.crt`), checking
    /// validity at `time` (seconds since 1970).
    static func context(_ role: TLSRole, folder: String, time: Int64) throws -> TLSContext {
        var configuration = TLSConfiguration(
            role: role, certificateChainPath: folder + "/tls.crt", privateKeyPath: folder + "/tls.key",
            trustBundlePath: folder + "/ca.crt")
        configuration.verificationTime = time
        return try TLSContext(configuration: configuration)
    }

    /// Connects a client from `clientFolder` to a server from `serverFolder`, the client
    /// expecting `serverIdentity`; returns both connections after the handshake.
    static func connect(
        clientFolder: String, serverFolder: String, expecting serverIdentity: WorkloadIdentity, time: Int64
    ) throws -> (client: TLSConnection, server: TLSConnection) {
        let client = try TLSConnection(
            context: context(.client, folder: clientFolder, time: time), expectedPeerIdentity: serverIdentity)
        let server = try TLSConnection(context: context(.server, folder: serverFolder, time: time))
        run(client: client, server: server)
        return (client, server)
    }
}
