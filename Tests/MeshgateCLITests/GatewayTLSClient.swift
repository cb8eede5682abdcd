import Foundation
import MeshgateTestKit

enum GatewayTLSClient {
    /// `openssl s_client` to 127.0.0.1:`port` with ALPN meshgate/1, presenting `identity` (no
    /// certificate when nil), standard input kept open (`-quiet` implies `-ign_eof`) and
    /// commands off (binary input is sent as is).
    static func start(port: UInt16, identity: GatewayPKI.Files?, trust: String) throws -> ChildProcess {
        var argv = [
            "openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", trust, "-alpn", "meshgate/1", "-tls1_3", "-quiet",
            "-nocommands",
        ]
        if let identity { argv += ["-cert", identity.cert, "-cert_chain", identity.cert, "-key", identity.key] }
        return try ChildProcess(argv)
    }
}
