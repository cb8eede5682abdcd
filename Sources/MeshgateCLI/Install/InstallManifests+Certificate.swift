extension InstallManifests {
    /// With `--cert-manager ISSUER`: a cert-manager Certificate that keeps the identity Secret
    /// (tls.crt, tls.key) issued: ECDSA P-256, 24 h, renewed 8 h before expiry, a new key each
    /// time, naming the gateway identity in a DNS SAN and a SPIFFE URI SAN.
    var certificate: ManifestValue? {
        guard let issuer = settings.certManagerIssuer else { return nil }
        let identity = settings.identity
        return .object([
            "apiVersion": .string("cert-manager.io/v1"), "kind": .string("Certificate"),
            "metadata": metadata(settings.identitySecret),
            "spec": .object([
                "secretName": .string(settings.identitySecret),
                "secretTemplate": .object(["labels": .strings(labels)]),
                "duration": .string("24h0m0s"),
                "renewBefore": .string("8h0m0s"),
                "isCA": .bool(false),
                "privateKey": .object([
                    "algorithm": .string("ECDSA"), "size": .int(256), "encoding": .string("PKCS8"),
                    "rotationPolicy": .string("Always"),
                ]),
                "usages": .list([.string("digital signature"), .string("server auth"), .string("client auth")]),
                "dnsNames": .list([.string(identity.dnsName)]),
                "uris": .list([.string(identity.spiffeURI)]),
                "issuerRef": .object([
                    "group": .string("cert-manager.io"), "kind": .string(issuer.kind), "name": .string(issuer.name),
                ]),
            ]),
        ])
    }
}
