extension InstallManifests {
    /// gateway.yaml as the pod reads it: the identity from the Secret volume, inbound and admin
    /// on every address (the kubelet probes the pod IP; other clusters reach 4143 through the
    /// Service), outbound listeners on the pod IP (mirrored Services select the gateway pods),
    /// the links folder and the state folder on volumes.
    var gatewayYAML: String {
        """
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
