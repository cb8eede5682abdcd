import Foundation
import Testing

@testable import MeshgateKube
import MeshgateTestKit

extension KubeAPIServerTests {
    @Suite struct Client {
        @Test func versionIsTheServersGitVersion() async throws {
            let cluster = try KubeTestCluster.shared()
            let client = cluster.client()
            defer { client.syncShutdown() }
            #expect(try await client.version() == "v1.21.0-meshgate-test")
            #expect(client.requestCounts.get == 1)
        }

        @Test func createGetReplaceDeleteWithConflicts() async throws {
            let client = try KubeTestCluster.shared().client()
            defer { client.syncShutdown() }
            let ns = try await client.makeNamespace("crud")
            let service = KubeService(
                metadata: .init(name: "redis", namespace: ns, labels: ["app": "redis"]),
                spec: .init(ports: [.init(name: "redis", port: 6379, targetPort: .string("redis"))]))
            let created = try await client.create(service)
            #expect(created.metadata.uid != nil)
            #expect(created.spec.clusterIP != nil)
            #expect(created.spec.ports?.first?.targetPort == .string("redis"))
            let rv1 = try #require(created.metadata.resourceVersion)

            await #expect(throws: KubeError.self) { _ = try await client.create(service) }
            do {
                _ = try await client.create(service)
            } catch {
                #expect(error.isConflict)
                #expect(error.reason == "AlreadyExists")
            }

            let read = try await client.get(KubeService.self, namespace: ns, name: "redis")
            #expect(read == created)

            var changed = read
            changed.metadata.labels?["mirror.linkerd.io/exported"] = "true"
            let replaced = try await client.replace(changed)
            #expect(replaced.metadata.resourceVersion != rv1)
            #expect(replaced.metadata.labels?["mirror.linkerd.io/exported"] == "true")

            var stale = read  // still carries rv1
            stale.metadata.labels = ["other": "x"]
            do {
                _ = try await client.replace(stale)
                Issue.record("a stale resourceVersion was accepted")
            } catch {
                #expect(error.isConflict)
                #expect(error.reason == "Conflict")
            }

            do {
                try await client.delete(KubeService.self, namespace: ns, name: "redis", preconditionUID: "not-the-uid")
                Issue.record("a wrong uid precondition was accepted")
            } catch {
                #expect(error.isConflict)
            }
            try await client.delete(
                KubeService.self, namespace: ns, name: "redis", preconditionUID: created.metadata.uid,
                preconditionResourceVersion: replaced.metadata.resourceVersion)
            do {
                _ = try await client.get(KubeService.self, namespace: ns, name: "redis")
                Issue.record("deleted object still there")
            } catch {
                #expect(error.isNotFound)
                #expect(error.code == 404)
                #expect(error.reason == "NotFound")
            }
            let counts = client.requestCounts
            // creates: the namespace, the Service, two refused duplicates
            #expect(counts.create == 4 && counts.update == 2 && counts.delete == 2 && counts.get == 2)
            #expect(counts.writes == 8)
        }

        @Test func tokensAreChecked() async throws {
            let cluster = try KubeTestCluster.shared()
            let viewer = cluster.client(user: "viewer")
            let wrong = cluster.client(token: "not-a-token")
            defer {
                viewer.syncShutdown()
                wrong.syncShutdown()
            }
            _ = try await viewer.list(KubeService.self, namespace: "default", labelSelector: nil)
            do {
                _ = try await viewer.create(KubeService(metadata: .init(name: "nope", namespace: "default")))
                Issue.record("the viewer created a Service")
            } catch {
                #expect(error.code == 403)
                #expect(error.reason == "Forbidden")
                #expect(error.message.contains("cannot create resource \"services\""))
            }
            do {
                _ = try await wrong.list(KubeService.self, namespace: "default", labelSelector: nil)
                Issue.record("a wrong token listed")
            } catch {
                #expect(error.code == 401)
                #expect(error.reason == "Unauthorized")
            }
            #expect(try await wrong.version().hasPrefix("v1."))  // /version needs no token
        }

        @Test func listWithSelectorAcrossNamespaces() async throws {
            let client = try KubeTestCluster.shared().client()
            defer { client.syncShutdown() }
            let a = try await client.makeNamespace("sel")
            let b = try await client.makeNamespace("sel")
            let exported = ["mirror.linkerd.io/exported": "true", "test-run": a]
            _ = try await client.create(KubeService(metadata: .init(name: "one", namespace: a, labels: exported)))
            _ = try await client.create(KubeService(metadata: .init(name: "two", namespace: b, labels: exported)))
            _ = try await client.create(
                KubeService(metadata: .init(name: "three", namespace: a, labels: ["test-run": a])))
            let selector = try KubeLabelSelector.parse("mirror.linkerd.io/exported=true,test-run=\(a)")
            let all = try await client.list(KubeService.self, namespace: nil, labelSelector: selector)
            #expect(Set(all.items.map(\.metadata.key)) == ["\(a)/one", "\(b)/two"])
            #expect(Int(all.resourceVersion) ?? 0 > 0)
            let inA = try await client.list(KubeService.self, namespace: a, labelSelector: selector)
            #expect(inA.items.map(\.metadata.key) == ["\(a)/one"])
            let notExported = try await client.list(
                KubeService.self, namespace: a, labelSelector: try .parse("!mirror.linkerd.io/exported"))
            #expect(notExported.items.map(\.metadata.name) == ["three"])
            let everything = try await client.list(KubeService.self, namespace: a, labelSelector: nil)
            #expect(everything.items.count == 2)
        }

        @Test func otherKindsUseTheirGroups() async throws {
            try await KubeTestCluster.withNamespace("kinds") { client, ns in
                let slice = KubeEndpointSlice(
                    metadata: .init(name: "redis-abc", namespace: ns, labels: [KubeEndpointSlice.serviceNameLabel: "redis"]),
                    endpoints: [.init(addresses: ["10.0.0.5"], conditions: .init(ready: true))],
                    ports: [.init(name: "redis", port: 6379)])
                let created = try await client.create(slice)
                #expect(created.ports?.first?.protocol == "TCP")  // defaulted by the server
                #expect(created.endpoints == slice.endpoints)
                _ = try await client.create(KubeServiceExport(metadata: .init(name: "redis", namespace: ns)))
                let exports = try await client.list(KubeServiceExport.self, namespace: ns, labelSelector: nil)
                #expect(exports.items.map(\.metadata.name) == ["redis"])
                let now = KubeMicroTime.format(Date())
                let lease = try await client.create(
                    KubeLease(
                        metadata: .init(name: "l", namespace: ns),
                        spec: .init(holderIdentity: "me", leaseDurationSeconds: 15, renewTime: now)))
                #expect(lease.spec.renewTime == now)
                #expect(lease.spec.holderIdentity == "me")
            }
        }

        @Test func tokenFileIsReadAgainWhenItChanges() async throws {
            let cluster = try KubeTestCluster.shared()
            let folder = try TemporaryFolder(prefix: "meshgate-kube")
            defer { folder.remove() }
            let tokenPath = try folder.write("token", cluster.info.tokens["admin"] ?? "")
            var config = cluster.config()
            config.auth = .tokenFile(tokenPath)
            let client = KubeClient(config: config, logger: .init(label: "t"))
            defer { client.syncShutdown() }
            let ns = try await client.makeNamespace("rotate")  // admin may create
            // Rotated to the viewer's token (a new file renamed over the old one).
            try folder.write("token.new", cluster.info.tokens["viewer"] ?? "")
            try FileManager.default.removeItem(atPath: tokenPath)
            try FileManager.default.moveItem(atPath: folder.file("token.new"), toPath: tokenPath)
            try await Task.sleep(for: .milliseconds(1100))
            do {
                _ = try await client.create(KubeService(metadata: .init(name: "x", namespace: ns)))
                Issue.record("the old token is still in use")
            } catch {
                #expect(error.code == 403)
                #expect(error.message.contains("\"viewer\""))
            }
        }

        @Test func clientCertificateIsLoaded() async throws {
            let cluster = try KubeTestCluster.shared()
            let read = { (name: String) in FileManager.default.contents(atPath: cluster.work + "/" + name).map { [UInt8]($0) } ?? [] }
            var config = cluster.config()
            // Any certificate and key parse; the test server does not check client certificates,
            // so the call is unauthenticated: /version answers, a list is 401 (no token was sent).
            config.auth = .clientCertificate(certPEM: read("server.crt"), keyPEM: read("server.key"))
            let client = KubeClient(config: config, logger: .init(label: "t"))
            config.auth = .clientCertificate(certPEM: read("server.crt"), keyPEM: Array("not a key".utf8))
            let broken = KubeClient(config: config, logger: .init(label: "t"))
            defer {
                client.syncShutdown()
                broken.syncShutdown()
            }
            #expect(try await client.version().hasPrefix("v1."))
            await #expect(throws: KubeError.self) {
                _ = try await client.list(KubeService.self, namespace: "default", labelSelector: nil)
            }
            do {
                _ = try await broken.version()
                Issue.record("a garbled key worked")
            } catch {
                #expect(error.reason == "TLS")
            }
        }

        @Test func tlsSettingsAreEnforced() async throws {
            let cluster = try KubeTestCluster.shared()
            var unknownCA = cluster.config()
            unknownCA.caPEM = nil  // system roots do not know the test CA
            let strict = KubeClient(config: unknownCA, logger: .init(label: "t"))
            unknownCA.insecureSkipTLSVerify = true
            let insecure = KubeClient(config: unknownCA, logger: .init(label: "t"))
            var garbled = cluster.config()
            garbled.caPEM = Array("not a certificate".utf8)
            let broken = KubeClient(config: garbled, logger: .init(label: "t"))
            defer {
                strict.syncShutdown()
                insecure.syncShutdown()
                broken.syncShutdown()
            }
            do {
                _ = try await strict.version()
                Issue.record("an unknown CA was trusted")
            } catch {
                #expect(error.code == nil)
                #expect(error.reason == "Transport")
            }
            #expect(try await insecure.version().hasPrefix("v1."))
            do {
                _ = try await broken.version()
                Issue.record("a garbled CA worked")
            } catch {
                #expect(error.reason == "TLS")
            }
        }
    }
}
