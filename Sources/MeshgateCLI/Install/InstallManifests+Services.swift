extension InstallManifests {
    /// The gateway port other clusters reach (type, annotations, source ranges and traffic
    /// policy as the flags say).
    var gatewayService: ManifestValue {
        let s = settings
        return .object([
            "apiVersion": .string("v1"), "kind": .string("Service"),
            "metadata": metadata(Names.service, annotations: s.serviceAnnotations),
            "spec": .object([
                "type": .string(s.serviceType.rawValue),
                "selector": .strings(selectorLabels),
                "ports": .list([
                    .object([
                        "name": .string("mtls"), "port": .int(Self.inboundPort), "targetPort": .string("mtls"),
                        "protocol": .string("TCP"),
                    ])
                ]),
                "externalTrafficPolicy": s.externalTrafficPolicy.map { .string($0.rawValue) },
                "loadBalancerSourceRanges": s.loadBalancerSourceRanges.isEmpty
                    ? nil : .list(s.loadBalancerSourceRanges.map { .string($0) }),
            ]),
        ])
    }

    /// The admin port inside the cluster only, for Prometheus (`/metrics`).
    var adminService: ManifestValue {
        .object([
            "apiVersion": .string("v1"), "kind": .string("Service"),
            "metadata": metadata(
                Names.adminService,
                annotations: [
                    ("prometheus.io/scrape", "true"), ("prometheus.io/port", String(Self.adminPort)), ("prometheus.io/path", "/metrics"),
                ]),
            "spec": .object([
                "type": .string("ClusterIP"),
                "selector": .strings(selectorLabels),
                "ports": .list([
                    .object([
                        "name": .string("admin-http"), "port": .int(Self.adminPort), "targetPort": .string("admin-http"),
                        "protocol": .string("TCP"),
                    ])
                ]),
            ]),
        ])
    }

    /// At most one gateway pod evicted at a time (node drains, cluster upgrades).
    var disruptionBudget: ManifestValue {
        .object([
            "apiVersion": .string("policy/v1"), "kind": .string("PodDisruptionBudget"),
            "metadata": metadata(Names.disruptionBudget),
            "spec": .object([
                "maxUnavailable": .int(1),
                "selector": .object(["matchLabels": .strings(selectorLabels)]),
            ]),
        ])
    }
}
