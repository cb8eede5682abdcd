import MeshgateKube
import Testing

@testable import MeshgateControl

/// `registry: {kubernetes: …}` and `mirror: {kubernetes: …}` of gateway.yaml.
@Suite struct KubernetesConfigTests {
    static let env = ["POD_NAME": "gateway-7d9f", "POD_NAMESPACE": "mg"]

    static func parse(_ extra: String, env: [String: String] = env) throws(ConfigErrors) -> GatewayConfig {
        try GatewayConfig.parse(yaml: minimalGateway(extra), fileName: "gateway.yaml", baseDirectory: "/etc/mg", environment: env)
    }

    static func errors(_ extra: String) -> [String] {
        do {
            _ = try parse(extra)
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test func aRegistryFileStaysAFile() throws {
        let c = try Self.parse("registry: registry.yaml\n")
        #expect(c.registry == "/etc/mg/registry.yaml" && c.kubernetesRegistry == nil && c.kubernetesMirror == nil)
    }

    @Test func inClusterWithEveryDefault() throws {
        let c = try Self.parse(
            """
            registry:
              kubernetes:
                inCluster: true
            """)
        let k = try #require(c.kubernetesRegistry)
        #expect(c.registry == nil)
        #expect(k.api.source == .inCluster)
        #expect(k.namespaces.isEmpty && k.serviceExports && k.allowAnnotation == "meshgate.io/allow")
        #expect(k.exportSelector.matches(["mirror.linkerd.io/exported": "true"]))
        #expect(!k.exportSelector.matches(["mirror.linkerd.io/exported": "false"]))
        #expect(k.line == 7)
    }

    @Test func kubeconfigRelativeToTheConfigWithEveryKey() throws {
        let c = try Self.parse(
            """
            registry:
              kubernetes:
                kubeconfig: kube/config
                context: west
                namespaces: [default, shop]
                exportSelector: "export in (yes,true),!private"
                serviceExports: false
                allowAnnotation: example.com/allowed-ids
            """)
        let k = try #require(c.kubernetesRegistry)
        #expect(k.api.source == .kubeconfig(path: "/etc/mg/kube/config", context: "west"))
        #expect(k.namespaces == ["default", "shop"] && !k.serviceExports && k.allowAnnotation == "example.com/allowed-ids")
        #expect(k.exportSelector.matches(["export": "yes"]))
        #expect(!k.exportSelector.matches(["export": "yes", "private": ""]))
    }

    @Test func bothOrNeitherSourceIsAnError() {
        #expect(
            Self.errors(
                """
                registry:
                  kubernetes:
                    inCluster: true
                    kubeconfig: k
                """) == ["gateway.yaml:9: registry.kubernetes.kubeconfig: write either inCluster: true or kubeconfig: PATH, not both"])
        #expect(
            Self.errors(
                """
                registry:
                  kubernetes:
                    namespaces: []
                """) == ["gateway.yaml:7: registry.kubernetes: needs inCluster: true (in a pod) or kubeconfig: PATH to find the API server"])
        #expect(
            Self.errors(
                """
                registry:
                  kubernetes:
                    inCluster: false
                """) == ["gateway.yaml:7: registry.kubernetes: needs inCluster: true (in a pod) or kubeconfig: PATH to find the API server"])
    }

    @Test func badValuesNameTheirLine() {
        let errors = Self.errors(
            """
            registry:
              kubernetes:
                inCluster: true
                context: west
                namespaces: [default, Shop_1, default]
                exportSelector: "a in (b"
                allowAnnotation: "not valid/"
                colour: blue
            """)
        #expect(errors.count == 6, "\(errors)")
        #expect(errors.contains("gateway.yaml:9: registry.kubernetes.context: context needs kubeconfig: PATH (in-cluster has no contexts)"))
        #expect(errors.contains { $0.hasPrefix("gateway.yaml:10: registry.kubernetes.namespaces[1]: 'Shop_1' is not a DNS label") })
        #expect(errors.contains("gateway.yaml:10: registry.kubernetes.namespaces[2]: namespace default is listed twice"))
        #expect(errors.contains { $0.hasPrefix("gateway.yaml:11: registry.kubernetes.exportSelector: 'a in (b' is not a label selector") })
        #expect(errors.contains { $0.hasPrefix("gateway.yaml:12: registry.kubernetes.allowAnnotation: 'not valid/'") })
        #expect(errors.contains { $0.hasPrefix("gateway.yaml:13: registry.kubernetes.colour: unknown key") })
    }

    @Test func registryMustBeAFileOrKubernetes() {
        #expect(Self.errors("registry: [a]\n") == ["gateway.yaml:6: registry: expected a registry file or {kubernetes: …}, found a list"])
        #expect(
            Self.errors("registry:\n  consul: {}\n") == [
                "gateway.yaml:6: registry.kubernetes: missing required key", "gateway.yaml:7: registry.consul: unknown key",
            ])
    }

    @Test func theMirrorInheritsTheRegistrysAPIAndReadsThePodEnvironment() throws {
        let c = try Self.parse(
            """
            registry:
              kubernetes: {inCluster: true}
            mirror:
              kubernetes:
                services: true
                gatewaySelector: {app: meshgate-gateway, tier: edge}
            """)
        let m = try #require(c.kubernetesMirror)
        #expect(m.api.source == .inCluster)
        #expect(m.gatewaySelector == ["app": "meshgate-gateway", "tier": "edge"])
        #expect(m.holder == "gateway-7d9f" && m.leaseNamespace == "mg" && m.leaseName == "meshgate-mirror")
        #expect(m.leaseDuration == .seconds(15) && m.leaseRetry == .seconds(2) && m.writesPerSecond == 20)
    }

    @Test func everyMirrorKey() throws {
        let c = try Self.parse(
            """
            registry: registry.yaml
            mirror:
              kubernetes:
                services: true
                kubeconfig: /k/config
                gatewaySelector: {app: gw}
                lease: {name: east-mirror, namespace: ops, duration: 20s, retry: 500ms}
                holder: replica-a
                writesPerSecond: 2.5
            """)
        let m = try #require(c.kubernetesMirror)
        #expect(c.registry == "/etc/mg/registry.yaml")
        #expect(m.api.source == .kubeconfig(path: "/k/config", context: nil))
        #expect(m.leaseName == "east-mirror" && m.leaseNamespace == "ops" && m.holder == "replica-a")
        #expect(m.leaseDuration == .seconds(20) && m.leaseRetry == .milliseconds(500) && m.writesPerSecond == 2.5)
    }

    @Test func servicesOffMeansNoWriterButTheKeysAreChecked() throws {
        let c = try Self.parse("mirror:\n  kubernetes:\n    services: false\n")
        #expect(c.kubernetesMirror == nil)
        #expect(
            Self.errors("mirror:\n  kubernetes:\n    services: false\n    lease: {duration: soon}\n").first?.hasPrefix(
                "gateway.yaml:9: mirror.kubernetes.lease.duration: 'soon'") == true)
    }

    @Test func mirrorErrors() {
        #expect(
            Self.errors("registry:\n  kubernetes: {inCluster: true}\nmirror:\n  kubernetes:\n    services: true\n") == [
                "gateway.yaml:9: mirror.kubernetes.gatewaySelector: missing: with services: true the mirrored Services select the local gateway pods by these labels (e.g. {app: meshgate-gateway})"
            ])
        #expect(
            Self.errors("mirror:\n  kubernetes:\n    services: true\n    gatewaySelector: {app: gw}\n") == [
                "gateway.yaml:7: mirror.kubernetes: needs inCluster: true or kubeconfig: PATH (the registry is not registry.kubernetes, whose API server is the default)"
            ])
        #expect(
            Self.errors("mirror:\n  kubernetes:\n    services: true\n    inCluster: false\n    gatewaySelector: {app: gw}\n") == [
                "gateway.yaml:7: mirror.kubernetes: needs inCluster: true or kubeconfig: PATH (the registry is not registry.kubernetes, whose API server is the default)"
            ])
        let errors = Self.errors(
            """
            registry:
              kubernetes: {inCluster: true}
            mirror:
              kubernetes:
                services: true
                gatewaySelector: {}
                lease: {duration: 2s, retry: 2s, name: Bad_Name}
                writesPerSecond: 0
                holder: ""
            """)
        #expect(errors.count == 5, "\(errors)")
        #expect(errors.contains { $0.hasPrefix("gateway.yaml:11: mirror.kubernetes.gatewaySelector: needs at least one label") })
        #expect(errors.contains { $0.hasPrefix("gateway.yaml:12: mirror.kubernetes.lease.retry: retry 2s must be less than the lease duration 2s") })
        #expect(errors.contains { $0.hasPrefix("gateway.yaml:12: mirror.kubernetes.lease.name: 'Bad_Name'") })
        #expect(errors.contains("gateway.yaml:13: mirror.kubernetes.writesPerSecond: writesPerSecond 0 out of range (more than 0, at most 10000)"))
        #expect(errors.contains("gateway.yaml:14: mirror.kubernetes.holder: must not be empty"))
    }

    @Test func withoutPodEnvironmentTheLeaseNamespaceFallsBack() throws {
        let c = try Self.parse(
            "mirror:\n  kubernetes:\n    services: true\n    kubeconfig: /nonexistent/config\n    gatewaySelector: {app: gw}\n", env: [:])
        let m = try #require(c.kubernetesMirror)
        #expect(m.leaseNamespace == "meshgate-multicluster")
        #expect(!m.holder.isEmpty)
    }

    @Test func needsRestartNamesTheRegistrySourceAndTheMirror() throws {
        let file = try Self.parse("registry: registry.yaml\n")
        let kube = try Self.parse("registry:\n  kubernetes: {inCluster: true}\n")
        let kubeOther = try Self.parse("registry:\n  kubernetes: {inCluster: true, namespaces: [a]}\n")
        let mirror = try Self.parse(
            "registry:\n  kubernetes: {inCluster: true}\nmirror:\n  kubernetes: {services: true, gatewaySelector: {app: gw}}\n")
        #expect(GatewayController.needsRestart(file, kube).contains("registry (file or kubernetes)"))
        #expect(GatewayController.needsRestart(kube, kubeOther) == ["registry.kubernetes"])
        #expect(GatewayController.needsRestart(kube, mirror) == ["mirror.kubernetes"])
        #expect(GatewayController.needsRestart(file, file).isEmpty)
    }
}
