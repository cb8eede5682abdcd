import Foundation
import MeshgateNames
import MeshgateTLS
import MeshgateTestKit

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PKI for the mirror tests, made once per test process with the test kit's `TestPKI`
/// (the `openssl` command line): one anchor (`bundle.pem`), an issuer per cluster (`CN=meshgate issuer <cluster>`) signing
/// ECDSA P-256 leaves that carry their identity as DNS and SPIFFE URI SANs (serverAuth +
/// clientAuth); `<leaf>.pem` holds the leaf then its issuer:
///
/// - `west`: `spiffe://cluster.local/ns/meshgate-west/sa/gateway`, the linked cluster's gateway
///   (the scripted server presents it);
/// - `east`: `spiffe://cluster.local/ns/meshgate-east/sa/gateway`, our gateway (the mirror's client
///   certificate).
enum MirrorTestPKI {
    static let westIdentity = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-west/sa/gateway")!
    static let eastIdentity = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-east/sa/gateway")!

    /// The folder holding `bundle.pem` and `<leaf>.pem` / `<leaf>.key`.
    static func directory() throws -> String { try generated.get().directory }

    /// A context for `role` presenting leaf `leaf` (`west` or `east`).
    static func context(_ role: TLSRole, leaf: String) throws -> TLSContext {
        try generated.get().context(role, leaf: leaf)
    }

    /// The gateway side of the linked cluster (`west`, server role).
    static func westServer() throws -> TLSContext { try context(.server, leaf: "west") }
    /// Our side (`east`, client role).
    static func eastClient() throws -> TLSContext { try context(.client, leaf: "east") }

    /// One issuer per cluster, named as `meshgate identity issuer` names it: gateways check that
    /// a gateway identity chains through its own cluster's issuer.
    private static let generated = ProcessFixture.make {
        let pki = try TestPKI.temporary("mirror")
        let anchor = try pki.anchor("anchor", commonName: "mirror test anchor")
        try pki.writeBundle([anchor])
        for cluster in ["west", "east"] {
            let issuer = try pki.issuer(
                "issuer-\(cluster)", subject: "/O=cluster.local/CN=meshgate issuer \(cluster)", signedBy: anchor)
            try pki.leaf(cluster, serviceAccount: "gateway", namespace: "meshgate-\(cluster)", signedBy: issuer)
        }
        return pki
    }
}
