import Foundation

/// Where the API server is and how to authenticate to it.
public struct KubeClientConfig: Sendable, Hashable {
    /// How the client authenticates.
    public enum Auth: Sendable, Hashable {
        /// No credentials.
        case none
        /// A bearer token.
        case token(String)
        /// A bearer token read from a file and re-read when the file changes (its modification
        /// time, size or inode, checked at most once a second): projected service-account tokens rotate.
        case tokenFile(String)
        /// A TLS client certificate and its key (PEM).
        case clientCertificate(certPEM: [UInt8], keyPEM: [UInt8])
    }

    /// The server's URL, e.g. "https://10.0.0.1:6443".
    public var server: String
    /// Trust roots for the server's certificate (PEM); nil: the system's roots.
    public var caPEM: [UInt8]?
    /// Credentials.
    public var auth: Auth
    /// Accept any server certificate (tests only).
    public var insecureSkipTLSVerify: Bool
    /// The pod's namespace (in-cluster) or the kubeconfig context's namespace.
    public var namespace: String?

    /// A configuration from its parts.
    public init(
        server: String, caPEM: [UInt8]? = nil, auth: Auth = .none, insecureSkipTLSVerify: Bool = false,
        namespace: String? = nil
    ) {
        self.server = server
        self.caPEM = caPEM
        self.auth = auth
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.namespace = namespace
    }

    /// The configuration of a pod's service account: `KUBERNETES_SERVICE_HOST` and
    /// `KUBERNETES_SERVICE_PORT` (an IPv6 host is bracketed), `DIRECTORY/token` (a token file,
    /// re-read when it rotates), `DIRECTORY/ca.crt` (trust roots; system roots when absent) and
    /// `DIRECTORY/namespace` (nil when absent).
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        directory: String = "/var/run/secrets/kubernetes.io/serviceaccount"
    ) throws(KubeConfigError) -> KubeClientConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw KubeConfigError(
                message:
                    "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a pod?)"
            )
        }
        guard let portNumber = Int(port), (1...65535).contains(portNumber) else {
            throw KubeConfigError(message: "in-cluster: KUBERNETES_SERVICE_PORT \"\(port)\" is not a port number")
        }
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        let tokenPath = directory + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubeConfigError(message: "in-cluster: \(tokenPath): cannot read the service account token")
        }
        let caPEM = FileManager.default.contents(atPath: directory + "/ca.crt").map { [UInt8]($0) }
        let namespace = FileManager.default.contents(atPath: directory + "/namespace")
            .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
            .flatMap { $0.isEmpty ? nil : $0 }
        return KubeClientConfig(
            server: "https://\(hostPart):\(portNumber)", caPEM: caPEM, auth: .tokenFile(tokenPath), namespace: namespace)
    }
}

/// A configuration that cannot be used; `message` names the file and the field.
public struct KubeConfigError: Error, CustomStringConvertible, Sendable, Hashable {
    /// What is wrong, e.g. "kubeconfig /x/config: users[0].user.exec: not supported (…)".
    public var message: String

    /// An error with its message.
    public init(message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
