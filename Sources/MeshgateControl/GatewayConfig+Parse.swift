import Foundation
import MeshgateNames
import MeshgateProxy

extension GatewayConfig {
    static let topLevelKeys = [
        "cluster", "trustDomain", "identity", "inbound", "outbound", "admin", "registry", "links", "limits", "loops",
        "ioBackend", "cpuAffinity", "ktls", "routes", "stateDir", "mirror",
    ]

    /// Reads and checks the config file at `path`; relative paths inside resolve against its folder.
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigErrors) -> GatewayConfig {
        let text = try ConfigFile.read(path: path)
        return try parse(yaml: text, fileName: path, baseDirectory: ConfigFile.directory(of: path), environment: environment)
    }

    /// Checks config text. `fileName` is what errors name; relative paths resolve against
    /// `baseDirectory` (left as written when it is empty). `environment` gives defaults of
    /// `mirror.kubernetes` (POD_NAME, POD_NAMESPACE).
    public static func parse(
        yaml: String, fileName: String = "gateway.yaml", baseDirectory: String = "",
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigErrors) -> GatewayConfig {
        let diagnostics = Diagnostics(file: fileName)
        guard let root = YAMLDocument.rootMapping(yaml, known: topLevelKeys, diagnostics: diagnostics) else {
            throw ConfigErrors(diagnostics.sortedErrors)
        }
        let config = GatewayConfigReader(
            root: root, baseDirectory: baseDirectory, diagnostics: diagnostics, environment: environment
        ).read()
        try diagnostics.throwIfAny()
        return config
    }
}

/// Reads the top level of a gateway config; falls back to defaults where a value is missing or
/// wrong, so that reading goes on and every error gets reported (the result is then discarded).
struct GatewayConfigReader {
    let root: YAMLMap
    let baseDirectory: String
    let diagnostics: Diagnostics
    var environment: [String: String] = [:]

    func read() -> GatewayConfig {
        let cluster = root.value("cluster", required: true)?.parsed(Self.label) ?? ""
        let trustDomain = root.value("trustDomain")?.parsed(Self.trustDomain) ?? GatewayDefaults.trustDomain
        let identity = readIdentity()
        let inbound = readInbound()
        let outbound = readOutbound()
        let admin = root.value("admin")?.map(known: ["listen"])
        let adminListen = admin?.value("listen")?.parsed(ListenAddress.parse) ?? GatewayDefaults.adminListen
        let limits = readLimits()
        let routeReader = RouteReader(
            trustDomain: trustDomain, requireClientTLS: outbound.requireClientTLS, diagnostics: diagnostics)
        let routes = root.value("routes")?.list?.compactMap(routeReader.read) ?? []
        let registry = readRegistry()
        let config = GatewayConfig(
            cluster: cluster,
            trustDomain: trustDomain,
            identity: identity,
            inbound: inbound,
            outbound: outbound,
            admin: AdminSettings(listen: adminListen),
            registry: registry.file,
            links: root.value("links").flatMap(
                LinksReader(baseDirectory: baseDirectory, diagnostics: diagnostics).read),
            limits: limits,
            loops: root.value("loops")?.int(in: 1...GatewayDefaults.maxLoops, name: "loops") ?? GatewayDefaults.loops,
            ioBackend: root.value("ioBackend")?.parsed(Self.choice(IOBackendSetting.self)) ?? .auto,
            cpuAffinity: root.value("cpuAffinity")?.parsed(Self.choice(CPUAffinity.self)) ?? .off,
            ktls: root.value("ktls")?.parsed(Self.choice(KTLSSetting.self)) ?? .auto,
            routes: routes,
            stateDir: root.value("stateDir")?.parsed(path), kubernetesRegistry: registry.kubernetes.settings,
            kubernetesMirror: registry.mirror)
        GatewayConfigChecks(config: config, diagnostics: diagnostics).run()
        return config
    }

    /// `registry:` as a file path or `{kubernetes: …}`, and `mirror:` (whose API server
    /// defaults to the registry's).
    private func readRegistry() -> (
        file: String?, kubernetes: (settings: KubernetesRegistrySettings?, written: Bool), mirror: KubernetesMirrorSettings?
    ) {
        let reader = KubernetesConfigReader(baseDirectory: baseDirectory, diagnostics: diagnostics, environment: environment)
        var file: String?
        var kubernetes: KubernetesRegistrySettings?
        var written = false
        if let value = root.value("registry") {
            switch value.node {
            case .mapping:
                written = true
                kubernetes = reader.readRegistry(value)
            case .scalar:
                file = value.parsed(path)
            default:
                value.report("expected a registry file or {kubernetes: …}, found \(value.kind)")
            }
        }
        let mirror = root.value("mirror").flatMap {
            reader.readMirror($0, registryAPI: kubernetes?.api, registryIsKubernetes: written)
        }
        return (file, (kubernetes, written), mirror)
    }

    private func readIdentity() -> IdentityFiles {
        let map = root.value("identity", required: true)?.map(known: ["cert", "key", "trust", "renew", "ticketKeys"])
        return IdentityFiles(
            cert: map?.value("cert", required: true)?.parsed(path) ?? "",
            key: map?.value("key", required: true)?.parsed(path) ?? "",
            trust: map?.value("trust", required: true)?.parsed(path) ?? "",
            renew: map?.value("renew").flatMap(readRenewal),
            ticketKeys: map?.value("ticketKeys")?.parsed(path))
    }

    /// `identity.renew: {issuer: DIR, before: 8h, validity: 24h}`; `before` below `validity`.
    private func readRenewal(_ value: YAMLValue) -> IdentityRenewal? {
        guard let map = value.map(known: ["issuer", "before", "validity"]) else { return nil }
        let issuer = map.value("issuer", required: true)?.parsed(path)
        let beforeValue = map.value("before")
        let before = beforeValue?.positiveDuration ?? IdentityRenewal.defaultBefore
        let validity = map.value("validity")?.positiveDuration ?? IdentityRenewal.defaultValidity
        if before >= validity {
            (beforeValue ?? value).report(
                "\(DurationText.format(before)) is not less than the renewed leaf's validity \(DurationText.format(validity)): every leaf would be due at once")
        }
        guard let issuer else { return nil }
        return IdentityRenewal(issuer: issuer, before: before, validity: validity)
    }

    private func readInbound() -> InboundSettings {
        let map = root.value("inbound")?.map(known: [
            "listen", "headerTimeout", "pooledIdleTimeout", "handshakeTimeout", "acceptWorkloads", "discover",
        ])
        let discover = map?.value("discover")?.map(known: ["allow", "perIdentity"])
        let defaults = DiscoverPolicy()
        let policy = InboundPolicy(
            acceptWorkloads: map?.value("acceptWorkloads")?.bool ?? false,
            discover: DiscoverPolicy(
                allow: discover?.value("allow")?.parsed(Self.choice(DiscoverPolicy.Allow.self)) ?? defaults.allow,
                perIdentity: discover?.value("perIdentity")?.int(in: 1...256, name: "perIdentity") ?? defaults.perIdentity))
        return InboundSettings(
            listen: map?.value("listen")?.parsed(ListenAddress.parse) ?? GatewayDefaults.inboundListen,
            headerTimeout: map?.value("headerTimeout")?.positiveDuration ?? GatewayDefaults.headerTimeout,
            handshakeTimeout: map?.value("handshakeTimeout")?.positiveDuration ?? GatewayDefaults.handshakeTimeout,
            policy: policy,
            pooledIdleTimeout: map?.value("pooledIdleTimeout")?.positiveDuration ?? GatewayDefaults.pooledIdleTimeout)
    }

    private func readOutbound() -> OutboundSettings {
        let map = root.value("outbound")?.map(known: ["bind", "ports", "requireClientTLS", "pin", "portHoldOff"])
        return OutboundSettings(
            bind: map?.value("bind")?.parsed(ListenAddress.parseBind) ?? GatewayDefaults.outboundBind,
            ports: map?.value("ports")?.parsed(PortRange.parse) ?? GatewayDefaults.outboundPorts,
            requireClientTLS: map?.value("requireClientTLS")?.bool ?? false,
            pins: map?.value("pin").map(PortPinReader.read) ?? [:],
            portHoldOff: map?.value("portHoldOff")?.parsed(YAMLValue.duration) ?? GatewayDefaults.portHoldOff)
    }

    private func readLimits() -> GatewayLimits {
        let map = root.value("limits")?.map(known: ["maxConnections", "connectTimeout", "idleTimeout", "drainTimeout"])
        return GatewayLimits(
            maxConnections: map?.value("maxConnections")?.int(in: 1...Int(Int32.max), name: "maxConnections")
                ?? GatewayDefaults.maxConnections,
            connectTimeout: map?.value("connectTimeout")?.positiveDuration ?? GatewayDefaults.connectTimeout,
            idleTimeout: map?.value("idleTimeout")?.positiveDuration ?? GatewayDefaults.idleTimeout,
            drainTimeout: map?.value("drainTimeout")?.positiveDuration ?? GatewayDefaults.drainTimeout)
    }

    /// A non-empty path, resolved against the config's folder.
    private func path(_ text: String) throws(InvalidValue) -> String {
        try Self.path(text, against: baseDirectory)
    }

    /// A non-empty path, resolved against `baseDirectory`.
    static func path(_ text: String, against baseDirectory: String) throws(InvalidValue) -> String {
        guard !text.isEmpty else { throw InvalidValue("must not be empty") }
        return ConfigFile.resolve(text, against: baseDirectory)
    }

    static func label(_ text: String) throws(InvalidValue) -> String {
        try DNSName.validateLabel(text)
        return text
    }

    static func trustDomain(_ text: String) throws(InvalidValue) -> String {
        guard DNSName.isName(text) else { throw InvalidValue("'\(text)' is not a DNS name (lowercase labels joined by dots)") }
        return text
    }

    static func choice<E: RawRepresentable & CaseIterable>(_ type: E.Type) -> (String) throws(InvalidValue) -> E
    where E.RawValue == String {
        { (text: String) throws(InvalidValue) -> E in
            guard let value = E(rawValue: text) else {
                throw InvalidValue("'\(text)' is not one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return value
        }
    }
}
