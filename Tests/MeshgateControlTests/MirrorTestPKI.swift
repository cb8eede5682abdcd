import Foundation
import MeshgateNames
import MeshgateTLS

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PKI for the mirror tests, made once per test process with the `openssl` command
/// line: one anchor (`bundle.pem`), an issuer per cluster (`CN=meshgate issuer <cluster>`) signing
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

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The folder holding `bundle.pem` and `<leaf>.pem` / `<leaf>.key`.
    static func directory() throws -> String {
        switch generated {
        case .success(let dir): return dir
        case .failure(let e): throw e
        }
    }

    /// A context for `role` presenting leaf `leaf` (`west` or `east`).
    static func context(_ role: TLSRole, leaf: String) throws -> TLSContext {
        let dir = try directory()
        return try TLSContext(
            configuration: TLSConfiguration(
                role: role, certificateChainPath: "\(dir)/\(leaf).pem", privateKeyPath: "\(dir)/\(leaf).key",
                trustBundlePath: "\(dir)/bundle.pem"))
    }

    /// The gateway side of the linked cluster (`west`, server role).
    static func westServer() throws -> TLSContext { try context(.server, leaf: "west") }
    /// Our side (`east`, client role).
    static func eastClient() throws -> TLSContext { try context(.client, leaf: "east") }

    private static let script = #"""
        set -euo pipefail
        cd "$1"
        exec 2>openssl.log
        # Keys readable by their owner only, as `meshgate check` wants them.
        key() { (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"); }
        key anchor.key
        openssl req -new -x509 -key anchor.key -subj "/CN=mirror test anchor" -days 30 -sha256 \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -addext "subjectKeyIdentifier=hash" -out bundle.pem
        # One issuer per cluster, named as `meshgate identity issuer` names it: gateways check that
        # a gateway identity chains through its own cluster's issuer.
        issuer() {
            local cluster=$1
            key "issuer-$cluster.key"
            openssl req -new -key "issuer-$cluster.key" -subj "/O=cluster.local/CN=meshgate issuer $cluster" -out "issuer-$cluster.csr"
            printf '%s\n' "basicConstraints=critical,CA:TRUE,pathlen:0" "keyUsage=critical,keyCertSign,cRLSign" \
                "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid:always" >"issuer-$cluster.ext"
            openssl x509 -req -in "issuer-$cluster.csr" -CA bundle.pem -CAkey anchor.key -set_serial "0x$(openssl rand -hex 8)" \
                -days 30 -sha256 -extfile "issuer-$cluster.ext" -out "issuer-$cluster.pem"
        }
        leaf() {
            local name=$1 sa=$2 ns=$3 cluster=$4
            local dns="$sa.$ns.serviceaccount.identity.cluster.local"
            key "$name.key"
            openssl req -new -key "$name.key" -subj "/CN=$dns" -out "$name.csr"
            printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
                "extendedKeyUsage=serverAuth,clientAuth" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid:always" \
                "subjectAltName=DNS:$dns,URI:spiffe://cluster.local/ns/$ns/sa/$sa" >"$name.ext"
            openssl x509 -req -in "$name.csr" -CA "issuer-$cluster.pem" -CAkey "issuer-$cluster.key" \
                -set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 -extfile "$name.ext" -out "$name.leaf.pem"
            cat "$name.leaf.pem" "issuer-$cluster.pem" >"$name.pem"
        }
        issuer west
        issuer east
        leaf west gateway meshgate-west west
        leaf east gateway meshgate-east east
        """#

    private static let generated: Result<String, Failure> = {
        let dir = NSTemporaryDirectory() + "meshgate-mirror-pki-\(getpid())"
        atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "meshgate-mirror-pki-\(getpid())") }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            return .failure(Failure(description: "cannot create \(dir): \(error)"))
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script, "mirror-test-pki", dir]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return .failure(Failure(description: "openssl script: \(error)")) }
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning {
            p.terminate()
            return .failure(Failure(description: "the openssl script did not finish within 60 s"))
        }
        guard p.terminationStatus == 0 else {
            let log = (try? String(contentsOfFile: dir + "/openssl.log", encoding: .utf8)) ?? ""
            return .failure(Failure(description: "the openssl script exited \(p.terminationStatus): \(log)"))
        }
        return .success(dir)
    }()
}
