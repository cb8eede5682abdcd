import Foundation
import Testing

@testable import MeshgateKube
import MeshgateTestKit

@Suite struct KubeconfigTests {
    private func kubeconfig(user: String, cluster: String = "server: https://10.0.0.1:6443") -> String {
        """
        apiVersion: v1
        kind: Config
        current-context: east
        clusters:
        - name: other
          cluster: {server: "https://other:1"}
        - name: east-cluster
          cluster:
            \(cluster)
        users:
        - name: east-user
          user:
            \(user)
        contexts:
        - name: west
          context: {cluster: other, user: east-user}
        - name: east
          context: {cluster: east-cluster, user: east-user, namespace: shop}
        """
    }

    /// Reads `text` as a kubeconfig file beside ca.pem, client.crt and client.key: its path and
    /// what reading it gave.
    private func read(_ text: String, context: String? = nil) throws
        -> (path: String, result: Result<KubeClientConfig, KubeConfigError>)
    {
        let folder = try TemporaryFolder(prefix: "meshgate-kube")
        defer { folder.remove() }
        try folder.write("ca.pem", "CA")
        try folder.write("client.crt", "CERT")
        try folder.write("client.key", "KEY")
        let path = try folder.write("config", text)
        return (path, Result { () throws(KubeConfigError) in try KubeClientConfig.kubeconfig(path: path, context: context) })
    }

    private func load(_ text: String, context: String? = nil) throws -> (KubeClientConfig, String) {
        let (path, result) = try read(text, context: context)
        return (try result.get(), path)
    }

    @Test func tokenCurrentContextAndRelativeCA() throws {
        let (config, _) = try load(
            kubeconfig(user: "token: abc", cluster: "{server: \"https://10.0.0.1:6443\", certificate-authority: ca.pem}"))
        #expect(config.server == "https://10.0.0.1:6443")
        #expect(config.caPEM == Array("CA".utf8))
        #expect(config.auth == .token("abc"))
        #expect(config.namespace == "shop")
        #expect(!config.insecureSkipTLSVerify)
    }

    @Test func namedContextInlineDataAndInsecure() throws {
        let ca = Data("INLINE".utf8).base64EncodedString()
        let text = kubeconfig(user: "tokenFile: tok").replacingOccurrences(
            of: "cluster: {server: \"https://other:1\"}",
            with: "cluster: {server: \"https://other:1\", certificate-authority-data: \(ca), insecure-skip-tls-verify: true}")
        let (config, path) = try load(text, context: "west")
        #expect(config.server == "https://other:1")
        #expect(config.caPEM == Array("INLINE".utf8))
        #expect(config.insecureSkipTLSVerify)
        #expect(config.namespace == nil)
        #expect(config.auth == .tokenFile((path as NSString).deletingLastPathComponent + "/tok"))
    }

    @Test func clientCertificateFromFilesAndData() throws {
        let (files, _) = try load(kubeconfig(user: "{client-certificate: client.crt, client-key: client.key}"))
        #expect(files.auth == .clientCertificate(certPEM: Array("CERT".utf8), keyPEM: Array("KEY".utf8)))
        let cert = Data("C2".utf8).base64EncodedString()
        let key = Data("K2".utf8).base64EncodedString()
        let (data, _) = try load(kubeconfig(user: "{client-certificate-data: \(cert), client-key-data: \(key)}"))
        #expect(data.auth == .clientCertificate(certPEM: Array("C2".utf8), keyPEM: Array("K2".utf8)))
    }

    @Test func jsonKubeconfigAsTheTestClusterWritesIt() throws {
        let json = """
            {"apiVersion": "v1", "kind": "Config", "current-context": "admin",
             "clusters": [{"name": "test", "cluster": {"server": "https://127.0.0.1:1234", "certificate-authority": "ca.pem"}}],
             "users": [{"name": "admin", "user": {"token": "admin-token"}}],
             "contexts": [{"name": "admin", "context": {"cluster": "test", "user": "admin", "namespace": "default"}}]}
            """
        let (config, _) = try load(json)
        #expect(config.server == "https://127.0.0.1:1234")
        #expect(config.auth == .token("admin-token"))
        #expect(config.namespace == "default")
    }

    private func error(_ text: String, context: String? = nil) -> (String, String) {
        do {
            let (_, path) = try load(text, context: context)
            return ("parsed", path)
        } catch let error as KubeConfigError {
            return (error.message, "")
        } catch {
            return ("\(error)", "")
        }
    }

    @Test(arguments: [
        ("exec: {command: aws}", "users[0].user.exec: not supported (use a token, tokenFile or a client certificate)"),
        ("auth-provider: {name: gcp}", "users[0].user.auth-provider: not supported"),
        ("username: admin", "users[0].user.username: not supported"),
        ("password: secret", "users[0].user.password: not supported"),
        ("as: someone", "users[0].user.as: not supported"),
        ("as-uid: \"1000\"", "users[0].user.as-uid: not supported"),
        ("as-groups: [admins]", "users[0].user.as-groups: not supported"),
        ("as-user-extra: {a: [b]}", "users[0].user.as-user-extra: not supported"),
        ("{client-certificate: client.crt}", "users[0].user.client-key: missing (client-certificate is set)"),
        ("{client-key: client.key}", "users[0].user.client-certificate: missing (client-key is set)"),
        ("{token: t, client-certificate: client.crt, client-key: client.key}", "users[0].user: both a token and a client certificate"),
        ("{client-certificate: nope.crt, client-key: client.key}", "users[0].user.client-certificate: cannot read"),
        ("{client-certificate-data: '%%%', client-key: client.key}", "users[0].user.client-certificate-data: not base64"),
    ])
    func unsupportedUserFieldsAreNamed(user: String, expected: String) throws {
        let (path, result) = try read(kubeconfig(user: user))
        let error = #expect(throws: KubeConfigError.self) { try result.get() }
        #expect(error?.message.hasPrefix("kubeconfig \(path): ") == true, "\(String(describing: error))")
        #expect(error?.message.contains(expected) == true, "\(String(describing: error))")
    }

    @Test(arguments: [
        ("{server: \"https://a:1\", proxy-url: \"http://proxy:3128\"}", "clusters[1].cluster.proxy-url: not supported"),
        ("{server: \"https://a:1\", tls-server-name: x}", "clusters[1].cluster.tls-server-name: not supported"),
        ("{server: \"https://a:1\", disable-compression: true}", "clusters[1].cluster.disable-compression: not supported"),
        ("{certificate-authority: ca.pem}", "clusters[1].cluster.server: missing"),
        ("{server: \"https://a:1\", insecure-skip-tls-verify: maybe}", "clusters[1].cluster.insecure-skip-tls-verify: not true or false"),
        ("{server: \"https://a:1\", certificate-authority: missing.pem}", "clusters[1].cluster.certificate-authority: cannot read"),
    ])
    func unsupportedClusterFieldsAreNamed(cluster: String, expected: String) throws {
        let (_, result) = try read(
            kubeconfig(user: "token: t", cluster: cluster).replacingOccurrences(of: "cluster:\n    {", with: "cluster: {"))
        switch result {
        case .success: Issue.record("parsed")
        case .failure(let error): #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func missingContextFileAndCurrentContext() throws {
        let folder = try TemporaryFolder(prefix: "meshgate-kube")
        defer { folder.remove() }
        let path = try folder.write("config", kubeconfig(user: "token: t"))
        #expect(throws: KubeConfigError(message: "kubeconfig \(path): contexts: no entry named \"nope\"")) {
            try KubeClientConfig.kubeconfig(path: path, context: "nope")
        }
        let bare = try folder.write("bare", "clusters: []\n")
        #expect(throws: KubeConfigError(message: "kubeconfig \(bare): current-context: not set (name a context)")) {
            try KubeClientConfig.kubeconfig(path: bare)
        }
        let list = try folder.write("list", "- a\n")
        #expect(throws: KubeConfigError(message: "kubeconfig \(list): not a YAML map")) {
            try KubeClientConfig.kubeconfig(path: list)
        }
        #expect(throws: KubeConfigError(message: "kubeconfig \(folder.path)/absent: cannot read the file")) {
            try KubeClientConfig.kubeconfig(path: folder.file("absent"))
        }
    }
}
