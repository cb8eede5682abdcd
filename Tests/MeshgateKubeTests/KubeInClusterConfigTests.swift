import Foundation
import Testing

@testable import MeshgateKube
import MeshgateTestKit

@Suite struct KubeInClusterConfigTests {
    @Test func readsServiceAccountFolderAndEnvironment() throws {
        let folder = try TemporaryFolder(prefix: "meshgate-kube")
        defer { folder.remove() }
        try folder.write("token", "tok\n")
        try folder.write("ca.crt", "CA")
        try folder.write("namespace", "shop\n")
        let env = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]
        let config = try KubeClientConfig.inCluster(environment: env, directory: folder.path)
        #expect(config.server == "https://10.96.0.1:443")
        #expect(config.auth == .tokenFile(folder.file("token")))
        #expect(config.caPEM == Array("CA".utf8))
        #expect(config.namespace == "shop")
    }

    @Test func ipv6HostIsBracketedAndOptionalFilesMayBeAbsent() throws {
        let folder = try TemporaryFolder(prefix: "meshgate-kube")
        defer { folder.remove() }
        try folder.write("token", "tok")
        let env = ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"]
        let config = try KubeClientConfig.inCluster(environment: env, directory: folder.path)
        #expect(config.server == "https://[fd00::1]:6443")
        #expect(config.caPEM == nil)
        #expect(config.namespace == nil)
    }

    @Test func errorsNameWhatIsMissing() throws {
        let folder = try TemporaryFolder(prefix: "meshgate-kube")
        defer { folder.remove() }
        #expect(throws: KubeConfigError.self) { try KubeClientConfig.inCluster(environment: [:], directory: folder.path) }
        do {
            _ = try KubeClientConfig.inCluster(environment: [:], directory: folder.path)
        } catch {
            #expect(error.message.contains("KUBERNETES_SERVICE_HOST"))
        }
        let env = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]
        #expect(
            throws: KubeConfigError(
                message: "in-cluster: \(folder.path)/token: cannot read the service account token")
        ) { try KubeClientConfig.inCluster(environment: env, directory: folder.path) }
        try folder.write("token", "t")
        #expect(
            throws: KubeConfigError(message: "in-cluster: KUBERNETES_SERVICE_PORT \"https\" is not a port number")
        ) {
            try KubeClientConfig.inCluster(
                environment: ["KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "https"], directory: folder.path)
        }
    }

    @Test func tokenFileIsReReadWhenItChanges() throws {
        let folder = try TemporaryFolder(prefix: "meshgate-kube")
        defer { folder.remove() }
        try folder.write("token", "first\n")
        let source = KubeTokenSource(auth: .tokenFile(folder.file("token")))
        let t0 = ContinuousClock.now
        #expect(source.token(now: t0) == "first")
        // A projected token rotates by an atomic rename (a new inode).
        try "second-token".write(toFile: folder.file("token.new"), atomically: false, encoding: .utf8)
        try FileManager.default.removeItem(atPath: folder.file("token"))
        try FileManager.default.moveItem(atPath: folder.file("token.new"), toPath: folder.file("token"))
        #expect(source.token(now: t0 + .milliseconds(500)) == "first")  // checked at most once a second
        #expect(source.token(now: t0 + .milliseconds(1100)) == "second-token")
        // Gone: the last good token is kept.
        try FileManager.default.removeItem(atPath: folder.file("token"))
        #expect(source.token(now: t0 + .seconds(3)) == "second-token")
        #expect(KubeTokenSource(auth: .token("fixed")).token() == "fixed")
        #expect(KubeTokenSource(auth: .none).token() == nil)
    }
}
