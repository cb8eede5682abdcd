extension InstallManifests {
    /// gateway.yaml as the pod reads it: the identity from the Secret volume, inbound and admin
    /// on every address (the kubelet probes the pod IP; other clusters reach 4143 through the
    /// Service), outbound listeners on the pod IP (mirrored Services select the gateway pods),
    /// the links folder and the state folder on volumes. The registry is the cluster's exported
    /// Services (the pod's service account reads them), and the mirror writes a Service
    /// `<svc>-<cluster>` per mirrored route selecting these pods (docs/kubernetes.md).
    var gatewayYAML: String {
        let selector = selectorLabels.map { "      \($0.0): \($0.1)" }.joined(separator: "\n")
        return """
        # meshgate gateway configuration (docs/gateway-config.md), written by `meshgate install`.
        cluster: \(settings.cluster)
        trustDomain: \(settings.trustDomain)
        identity:
          cert: \(Paths.identityDir)/tls.crt
          key: \(Paths.identityDir)/tls.key
          trust: \(Paths.identityDir)/ca.crt
        inbound:
          listen: 0.0.0.0:\(Self.inboundPort)
        outbound:
          bind: 0.0.0.0
        admin:
          listen: 0.0.0.0:\(Self.adminPort)
        links:
          dir: \(Paths.linksDir)
        stateDir: \(Paths.stateDir)
        registry:
          kubernetes:
            inCluster: true
        mirror:
          kubernetes:
            services: true
            gatewaySelector:
        \(selector)
        limits:
          drainTimeout: \(settings.drainTimeoutSeconds)s
        ioBackend: auto

        """
    }

    var configMap: ManifestValue {
        .object([
            "apiVersion": .string("v1"), "kind": .string("ConfigMap"), "metadata": metadata(Names.config),
            "data": .map([("gateway.yaml", .string(gatewayYAML))]),
        ])
    }
}
