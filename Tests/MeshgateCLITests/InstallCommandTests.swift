import Foundation
import MeshgateControl
import Testing
import Yams

@testable import MeshgateCLI

/// `meshgate install`: every flag, read back from the YAML (Yams) and JSON (JSONSerialization)
/// output; bad values give one error naming the flag.
@Suite struct InstallCommandTests {
    /// The objects `meshgate install ARGS` prints, parsed back from YAML.
    static func objects(_ args: [String]) throws -> [[String: Any]] {
        let command = try InstallCommand.parse(args)
        let text = try InstallRenderer(settings: try command.settings()).render()
        return try Yams.load_all(yaml: text).map { $0 as! [String: Any] }
    }

    static func object(_ objects: [[String: Any]], _ kind: String, _ name: String? = nil) -> [String: Any]? {
        objects.first { o in
            o["kind"] as? String == kind && (name == nil || (o["metadata"] as? [String: Any])?["name"] as? String == name)
        }
    }

    static func dig(_ value: Any?, _ path: String...) -> Any? {
        var v = value
        for key in path {
            if let i = Int(key), let list = v as? [Any] { v = i < list.count ? list[i] : nil } else { v = (v as? [String: Any])?[key] }
        }
        return v
    }

    @Test func defaultsMakeTheWholeSet() throws {
        let all = try Self.objects(["--cluster", "west"])
        #expect(
            all.map { $0["kind"] as! String } == [
                "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap",
                "Deployment", "Service", "Service", "PodDisruptionBudget",
            ])
        for o in all where o["kind"] as? String != "Namespace" && !(o["kind"] as! String).hasPrefix("ClusterRole") {
            #expect(Self.dig(o, "metadata", "namespace") as? String == "meshgate-multicluster")
        }
        let deploy = try #require(Self.object(all, "Deployment"))
        #expect(Self.dig(deploy, "spec", "replicas") as? Int == 2)
        let pod = Self.dig(deploy, "spec", "template", "spec")
        #expect(Self.dig(pod, "serviceAccountName") as? String == "gateway")
        #expect(Self.dig(pod, "securityContext", "runAsNonRoot") as? Bool == true)
        #expect(Self.dig(pod, "securityContext", "runAsUser") as? Int == 65532)
        #expect(Self.dig(pod, "securityContext", "seccompProfile", "type") as? String == "RuntimeDefault")
        let grace = try #require(Self.dig(pod, "terminationGracePeriodSeconds") as? Int)
        #expect(grace > 30, "above the 30 s drain timeout")
        #expect(
            Self.dig(
                pod, "affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution", "0", "podAffinityTerm", "topologyKey"
            ) as? String == "kubernetes.io/hostname")
        #expect(Self.dig(pod, "nodeSelector") == nil && Self.dig(pod, "tolerations") == nil)
        let c = Self.dig(pod, "containers", "0")
        #expect(Self.dig(c, "image") as? String == "meshgate:\(MeshgateVersion.current)")
        #expect(Self.dig(c, "args") as? [String] == ["gateway", "--config", "/etc/meshgate/gateway.yaml"])
        #expect(Self.dig(c, "readinessProbe", "httpGet", "path") as? String == "/ready")
        #expect(Self.dig(c, "livenessProbe", "httpGet", "path") as? String == "/live")
        #expect(Self.dig(c, "startupProbe", "httpGet", "path") as? String == "/live")
        #expect(Self.dig(c, "readinessProbe", "httpGet", "port") as? String == "admin-http")
        #expect(Self.dig(c, "ports", "1", "containerPort") as? Int == 4191)
        #expect(Self.dig(c, "ports", "0", "containerPort") as? Int == 4143)
        #expect(Self.dig(c, "securityContext", "readOnlyRootFilesystem") as? Bool == true)
        #expect(Self.dig(c, "securityContext", "allowPrivilegeEscalation") as? Bool == false)
        #expect(Self.dig(c, "securityContext", "capabilities", "drop") as? [String] == ["ALL"])
        #expect(Self.dig(c, "resources", "limits", "memory") as? String == "512Mi")
        let mounts = (Self.dig(c, "volumeMounts") as? [[String: Any]] ?? []).map { $0["mountPath"] as! String }
        #expect(
            Set(mounts) == ["/etc/meshgate", "/var/run/secrets/meshgate", "/var/lib/meshgate/links", "/var/lib/meshgate/state", "/tmp"])
        let volumes = Self.dig(pod, "volumes") as? [[String: Any]] ?? []
        let identity = try #require(volumes.first { $0["name"] as? String == "identity" })
        #expect(Self.dig(identity, "secret", "secretName") as? String == "gateway-identity")

        let svc = try #require(Self.object(all, "Service", "gateway"))
        #expect(Self.dig(svc, "spec", "type") as? String == "LoadBalancer")
        #expect(Self.dig(svc, "spec", "ports", "0", "port") as? Int == 4143)
        #expect(Self.dig(svc, "spec", "externalTrafficPolicy") == nil && Self.dig(svc, "spec", "loadBalancerSourceRanges") == nil)
        let admin = try #require(Self.object(all, "Service", "gateway-admin"))
        #expect(Self.dig(admin, "spec", "type") as? String == "ClusterIP")
        #expect(Self.dig(admin, "spec", "ports", "0", "port") as? Int == 4191)
        #expect(Self.dig(Self.object(all, "PodDisruptionBudget"), "spec", "maxUnavailable") as? Int == 1)
    }

    @Test func theConfigMapHoldsAGatewayConfigThatParses() throws {
        let all = try Self.objects(["--cluster", "west", "--trust-domain", "example.org"])
        let text = try #require(Self.dig(Self.object(all, "ConfigMap"), "data", "gateway.yaml") as? String)
        let config = try GatewayConfig.parse(yaml: text, environment: ["POD_NAME": "gateway-abc", "POD_NAMESPACE": "meshgate-multicluster"])
        #expect(config.cluster == "west" && config.trustDomain == "example.org")
        #expect(config.inbound.listen.description == "0.0.0.0:4143")
        #expect(config.admin.listen.description == "0.0.0.0:4191")
        #expect(config.outbound.bind == "0.0.0.0")
        #expect(config.identity.cert == "/var/run/secrets/meshgate/tls.crt")
        #expect(config.identity.key == "/var/run/secrets/meshgate/tls.key")
        #expect(config.identity.trust == "/var/run/secrets/meshgate/ca.crt")
        #expect(config.links?.dir == "/var/lib/meshgate/links")
        #expect(config.stateDir == "/var/lib/meshgate/state")
        #expect(config.limits.drainTimeout == .seconds(30))
        #expect(config.registry == nil)
        let registry = try #require(config.kubernetesRegistry)
        #expect(registry.api.source == .inCluster && registry.namespaces.isEmpty && registry.serviceExports)
        let mirror = try #require(config.kubernetesMirror)
        #expect(mirror.api.source == .inCluster)
        #expect(mirror.holder == "gateway-abc" && mirror.leaseNamespace == "meshgate-multicluster")
        // The mirrored Services select exactly the Deployment's pods.
        let deploy = try #require(Self.object(all, "Deployment"))
        let podLabels = try #require(Self.dig(deploy, "spec", "template", "metadata", "labels") as? [String: String])
        let matchLabels = try #require(Self.dig(deploy, "spec", "selector", "matchLabels") as? [String: String])
        #expect(mirror.gatewaySelector == matchLabels)
        #expect(mirror.gatewaySelector.allSatisfy { podLabels[$0.key] == $0.value })
    }

    @Test func thePodKnowsItsNameAndNamespace() throws {
        let all = try Self.objects(["--cluster", "west"])
        let env = try #require(
            Self.dig(Self.object(all, "Deployment"), "spec", "template", "spec", "containers", "0", "env") as? [[String: Any]])
        var fields: [String: String] = [:]
        for e in env { fields[e["name"] as! String] = Self.dig(e, "valueFrom", "fieldRef", "fieldPath") as? String }
        #expect(fields == ["POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"])
    }

    @Test func rbacIsLeastPrivilege() throws {
        let all = try Self.objects(["--cluster", "west", "--namespace", "mg"])
        let rules = try #require(Self.dig(Self.object(all, "ClusterRole"), "rules") as? [[String: Any]])
        var granted: [String: [String]] = [:]
        for r in rules {
            for res in r["resources"] as! [String] { granted["\((r["apiGroups"] as! [String])[0])/\(res)"] = r["verbs"] as? [String] }
        }
        #expect(
            granted == [
                "/services": ["get", "list", "watch", "create", "update", "delete"],
                "discovery.k8s.io/endpointslices": ["get", "list", "watch"],
                "multicluster.x-k8s.io/serviceexports": ["get", "list", "watch"],
            ])
        let role = try #require(Self.object(all, "Role"))
        #expect(Self.dig(role, "metadata", "namespace") as? String == "mg")
        #expect(Self.dig(role, "rules", "0", "apiGroups") as? [String] == ["coordination.k8s.io"])
        #expect(Self.dig(role, "rules", "0", "resources") as? [String] == ["leases"])
        #expect(Self.dig(role, "rules", "0", "verbs") as? [String] == ["get", "create", "update"])
        for kind in ["ClusterRoleBinding", "RoleBinding"] {
            let b = Self.object(all, kind)
            #expect(Self.dig(b, "subjects", "0", "name") as? String == "gateway")
            #expect(Self.dig(b, "subjects", "0", "namespace") as? String == "mg")
        }
        #expect(Self.dig(Self.object(all, "ClusterRole"), "metadata", "name") as? String == "meshgate-mg-gateway")
    }

    @Test func everyFlagLandsInItsField() throws {
        let all = try Self.objects([
            "--cluster", "east", "--namespace", "gw", "--image", "registry.example/meshgate:1.2@sha256:abc", "--replicas", "3",
            "--service-type", "NodePort", "--service-annotation", "service.beta.kubernetes.io/aws-load-balancer-type=nlb",
            "--service-annotation", "example.com/note=true", "--external-traffic-policy", "Local",
            "--node-selector", "kubernetes.io/os=linux", "--node-selector", "role=edge",
            "--toleration", "dedicated=gateway:NoSchedule", "--toleration", "edge", "--toleration", "spot:NoExecute",
            "--identity-secret", "east-id",
        ])
        let deploy = Self.object(all, "Deployment")
        #expect(Self.dig(deploy, "metadata", "namespace") as? String == "gw")
        #expect(Self.dig(deploy, "spec", "replicas") as? Int == 3)
        let pod = Self.dig(deploy, "spec", "template", "spec")
        #expect(Self.dig(pod, "containers", "0", "image") as? String == "registry.example/meshgate:1.2@sha256:abc")
        #expect(Self.dig(pod, "nodeSelector") as? [String: String] == ["kubernetes.io/os": "linux", "role": "edge"])
        let tolerations = try #require(Self.dig(pod, "tolerations") as? [[String: String]])
        #expect(
            tolerations == [
                ["key": "dedicated", "operator": "Equal", "value": "gateway", "effect": "NoSchedule"],
                ["key": "edge", "operator": "Exists"],
                ["key": "spot", "operator": "Exists", "effect": "NoExecute"],
            ])
        let volumes = Self.dig(pod, "volumes") as? [[String: Any]] ?? []
        #expect(Self.dig(volumes.first { $0["name"] as? String == "identity" }, "secret", "secretName") as? String == "east-id")
        let svc = Self.object(all, "Service", "gateway")
        #expect(Self.dig(svc, "spec", "type") as? String == "NodePort")
        #expect(Self.dig(svc, "spec", "externalTrafficPolicy") as? String == "Local")
        #expect(
            Self.dig(svc, "metadata", "annotations") as? [String: String] == [
                "service.beta.kubernetes.io/aws-load-balancer-type": "nlb", "example.com/note": "true",
            ])
        let text = try InstallRenderer(
            settings: try InstallCommand.parse(["--cluster", "east", "--service-annotation", "a=true"]).settings()
        ).render()
        #expect(text.contains("a: \"true\""), "a string that reads as a boolean is quoted")
    }

    @Test func loadBalancerSourceRangesAndClusterPolicy() throws {
        let all = try Self.objects([
            "--cluster", "west", "--load-balancer-source-range", "203.0.113.0/24", "--load-balancer-source-range", "2001:db8::/32",
            "--external-traffic-policy", "Cluster",
        ])
        let svc = Self.object(all, "Service", "gateway")
        #expect(Self.dig(svc, "spec", "loadBalancerSourceRanges") as? [String] == ["203.0.113.0/24", "2001:db8::/32"])
        #expect(Self.dig(svc, "spec", "externalTrafficPolicy") as? String == "Cluster")
        let clusterIP = try Self.objects(["--cluster", "west", "--service-type", "ClusterIP"])
        #expect(Self.dig(Self.object(clusterIP, "Service", "gateway"), "spec", "type") as? String == "ClusterIP")
    }

    @Test func ioUringChoosesTheSeccompProfile() throws {
        func seccomp(_ args: [String]) throws -> (Any?, String?) {
            let deploy = Self.object(try Self.objects(["--cluster", "west"] + args), "Deployment")
            return (
                Self.dig(deploy, "spec", "template", "spec", "securityContext", "seccompProfile"),
                Self.dig(deploy, "spec", "template", "metadata", "annotations", "meshgate.io/seccomp") as? String
            )
        }
        let (plain, plainNote) = try seccomp([])
        #expect((plain as? [String: String]) == ["type": "RuntimeDefault"])
        #expect(plainNote?.contains("epoll") == true)
        let (unconfined, note) = try seccomp(["--io-uring"])
        #expect((unconfined as? [String: String]) == ["type": "Unconfined"])
        #expect(note?.contains("Unconfined") == true)
        let (local, _) = try seccomp(["--io-uring", "--seccomp-profile", "meshgate/io-uring.json"])
        #expect((local as? [String: String]) == ["type": "Localhost", "localhostProfile": "meshgate/io-uring.json"])
        let text = try InstallRenderer(settings: try InstallCommand.parse(["--cluster", "west", "--io-uring"]).settings()).render()
        #expect(text.hasPrefix("# meshgate") && text.contains("# seccomp: Unconfined"))
    }

    @Test func certManagerCertificate() throws {
        let all = try Self.objects(["--cluster", "west", "--trust-domain", "example.org", "--cert-manager", "ClusterIssuer/west-issuer"])
        let cert = try #require(Self.object(all, "Certificate"))
        #expect(cert["apiVersion"] as? String == "cert-manager.io/v1")
        let spec = Self.dig(cert, "spec")
        #expect(Self.dig(spec, "secretName") as? String == "gateway-identity")
        #expect(Self.dig(spec, "duration") as? String == "24h0m0s")
        #expect(Self.dig(spec, "renewBefore") as? String == "8h0m0s")
        #expect(Self.dig(spec, "isCA") as? Bool == false)
        #expect(Self.dig(spec, "privateKey", "algorithm") as? String == "ECDSA")
        #expect(Self.dig(spec, "privateKey", "size") as? Int == 256)
        #expect(Self.dig(spec, "privateKey", "rotationPolicy") as? String == "Always")
        #expect(Self.dig(spec, "dnsNames") as? [String] == ["gateway.meshgate-west.serviceaccount.identity.example.org"])
        #expect(Self.dig(spec, "uris") as? [String] == ["spiffe://example.org/ns/meshgate-west/sa/gateway"])
        #expect(Self.dig(spec, "usages") as? [String] == ["digital signature", "server auth", "client auth"])
        #expect(Self.dig(spec, "issuerRef", "kind") as? String == "ClusterIssuer")
        #expect(Self.dig(spec, "issuerRef", "name") as? String == "west-issuer")
        // The pod takes tls.crt/tls.key from the Certificate's Secret and ca.crt (the anchors) from a ConfigMap.
        let volumes = Self.dig(Self.object(all, "Deployment"), "spec", "template", "spec", "volumes") as? [[String: Any]] ?? []
        let identity = volumes.first { $0["name"] as? String == "identity" }
        #expect(Self.dig(identity, "projected", "sources", "0", "secret", "name") as? String == "gateway-identity")
        #expect(Self.dig(identity, "projected", "sources", "1", "configMap", "name") as? String == "gateway-trust")
        let plain = try Self.objects(["--cluster", "west", "--cert-manager", "west-issuer"])
        #expect(Self.dig(Self.object(plain, "Certificate"), "spec", "issuerRef", "kind") as? String == "Issuer")
    }

    @Test func jsonIsAListOfTheSameObjects() throws {
        let args = ["--cluster", "west", "--cert-manager", "ca", "--toleration", "a=b:NoSchedule"]
        let command = try InstallCommand.parse(args + ["--output", "json"])
        let text = try InstallRenderer(settings: try command.settings()).render()
        let list = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(list["kind"] as? String == "List" && list["apiVersion"] as? String == "v1")
        let items = try #require(list["items"] as? [[String: Any]])
        let yaml = try Self.objects(args)
        #expect(items.count == yaml.count)
        #expect(NSDictionary(dictionary: ["items": items]).isEqual(to: ["items": yaml]))
    }

    @Test(arguments: [
        (["--cluster", "West"], "--cluster"),
        (["--cluster", String(repeating: "a", count: 60)], "--cluster"),
        (["--cluster", "west", "--namespace", "a_b"], "--namespace"),
        (["--cluster", "west", "--trust-domain", "Example..org"], "--trust-domain"),
        (["--cluster", "west", "--image", "a b"], "--image"),
        (["--cluster", "west", "--replicas", "0"], "--replicas"),
        (["--cluster", "west", "--service-type", "External"], "--service-type"),
        (["--cluster", "west", "--service-annotation", "novalue"], "--service-annotation"),
        (["--cluster", "west", "--service-annotation", "-bad=1"], "--service-annotation"),
        (["--cluster", "west", "--service-annotation", "a=1", "--service-annotation", "a=2"], "--service-annotation"),
        (["--cluster", "west", "--load-balancer-source-range", "10.0.0.0"], "--load-balancer-source-range"),
        (["--cluster", "west", "--load-balancer-source-range", "10.0.0.0/33"], "--load-balancer-source-range"),
        (
            ["--cluster", "west", "--load-balancer-source-range", "10.0.0.0/8", "--service-type", "NodePort"],
            "--load-balancer-source-range"
        ),
        (["--cluster", "west", "--external-traffic-policy", "Remote"], "--external-traffic-policy"),
        (["--cluster", "west", "--external-traffic-policy", "Local", "--service-type", "ClusterIP"], "--external-traffic-policy"),
        (["--cluster", "west", "--node-selector", "role=a b"], "--node-selector"),
        (["--cluster", "west", "--toleration", "key:Sometimes"], "--toleration"),
        (["--cluster", "west", "--toleration", "=v:NoSchedule"], "--toleration"),
        (["--cluster", "west", "--identity-secret", "Secret!"], "--identity-secret"),
        (["--cluster", "west", "--seccomp-profile", "p.json"], "--seccomp-profile"),
        (["--cluster", "west", "--io-uring", "--seccomp-profile", "../p.json"], "--seccomp-profile"),
        (["--cluster", "west", "--cert-manager", "Vault/x"], "--cert-manager"),
        (["--cluster", "west", "--output", "toml"], "--output"),
    ])
    func badValuesNameTheFlag(arguments: [String], flag: String) {
        do {
            let command = try InstallCommand.parse(arguments)
            _ = try command.settings()
            Issue.record("accepted \(arguments)")
        } catch {
            let message = InstallCommand.message(for: error)
            #expect(message.contains(flag), "\(arguments): \(message)")
            #expect(!message.contains("\n"), "one line: \(message)")
            let quoted = "'\(arguments.last!)'"
            #expect(message.components(separatedBy: quoted).count <= 2, "the value is named once: \(message)")
        }
    }

    @Test func theBinaryExitsTwoOnABadFlag() throws {
        guard FileManager.default.isExecutableFile(atPath: MeshgateProcess.binary) else { return }
        let p = try MeshgateProcess(["install", "--cluster", "west", "--replicas", "0"])
        #expect(p.waitExit(timeout: 10) == 2)
        #expect(p.stderr.contains("--replicas"))
    }
}
