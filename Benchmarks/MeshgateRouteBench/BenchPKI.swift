#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MeshgateNames
import MeshgateProxy
import MeshgateTLS

/// A throwaway PKI written with the `openssl` command line into a temporary directory (the
/// recipe of scripts/test-pki, cut down): an ECDSA P-256 anchor, and one leaf it signs for
/// `spiffe://cluster.local/ns/meshgate-bench/sa/gateway` (DNS and URI SANs, serverAuth and
/// clientAuth). The gateway uses the leaf both ways, so its routes can point at its own
/// inbound listener and expect its own identity.
struct BenchPKI {
    static let trustDomain = "cluster.local"
    static let namespace = "meshgate-bench"
    static let serviceAccount = "gateway"

    /// The temporary directory (removed by `remove()`).
    let directory: String
    /// Leaf certificate (PEM), its key, and the trust bundle (the anchor).
    let certificate: String
    let key: String
    let bundle: String
    /// The identity the leaf proves.
    let identity: WorkloadIdentity

    /// Writes the PKI into a new temporary directory.
    static func generate() throws -> BenchPKI {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/meshgate-route-bench.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw BenchFailure("cannot create a temporary directory under \(base): \(String(cString: strerror(errno)))")
        }
        let dir = String(cString: made)
        do {
            return try write(into: dir)
        } catch {
            try? FileManager.default.removeItem(atPath: dir)
            throw error
        }
    }

    private static func write(into dir: String) throws -> BenchPKI {
        let dns = "\(serviceAccount).\(namespace).serviceaccount.identity.\(trustDomain)"
        let uri = "spiffe://\(trustDomain)/ns/\(namespace)/sa/\(serviceAccount)"
        guard let identity = WorkloadIdentity(spiffeURI: uri) else { throw BenchFailure("\(uri) is not an identity") }
        let p = { (name: String) in "\(dir)/\(name)" }
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p("anchor.key")])
        try openssl([
            "req", "-new", "-x509", "-key", p("anchor.key"), "-subj", "/CN=meshgate route bench anchor", "-days", "7",
            "-sha256", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash", "-out", p("bundle.pem"),
        ])
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p("gateway.key")])
        try openssl(["req", "-new", "-key", p("gateway.key"), "-subj", "/CN=\(dns)", "-out", p("gateway.csr")])
        let ext = """
            basicConstraints=critical,CA:FALSE
            keyUsage=critical,digitalSignature
            extendedKeyUsage=serverAuth,clientAuth
            subjectKeyIdentifier=hash
            authorityKeyIdentifier=keyid:always
            subjectAltName=DNS:\(dns),URI:\(uri)

            """
        try ext.write(toFile: p("gateway.ext"), atomically: false, encoding: .utf8)
        let serial = "0x" + (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        try openssl([
            "x509", "-req", "-in", p("gateway.csr"), "-CA", p("bundle.pem"), "-CAkey", p("anchor.key"),
            "-set_serial", serial, "-days", "2", "-sha256", "-extfile", p("gateway.ext"), "-out", p("gateway.pem"),
        ])
        chmod(p("anchor.key"), 0o600)
        chmod(p("gateway.key"), 0o600)
        return BenchPKI(directory: dir, certificate: p("gateway.pem"), key: p("gateway.key"), bundle: p("bundle.pem"),
                        identity: identity)
    }

    /// Server and client contexts as the gateway loads them (GatewayCredentialsLoader's policy).
    func credentials() throws -> GatewayCredentials {
        do {
            var server = TLSConfiguration(role: .server, certificateChainPath: certificate, privateKeyPath: key, trustBundlePath: bundle)
            server.ticketCount = 1
            server.ticketsForKTLS = 1
            var client = TLSConfiguration(role: .client, certificateChainPath: certificate, privateKeyPath: key, trustBundlePath: bundle)
            client.sessionCache = TLSSessionCache()
            return GatewayCredentials(server: try TLSContext(configuration: server), client: try TLSContext(configuration: client))
        } catch {
            throw BenchFailure("loading the generated credentials from \(directory): \(error)")
        }
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs `openssl ARGS` from PATH; its output is kept only for the error message.
    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw BenchFailure("cannot run openssl: \(error)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw BenchFailure("openssl \(arguments.prefix(2).joined(separator: " ")) failed (status \(process.terminationStatus))"
                + (text.isEmpty ? "" : ": \(text)"))
        }
    }
}
