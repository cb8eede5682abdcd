import MeshgateNames
import MeshgateProxy
import Yams

/// Reads `links:` of a gateway config into `LinksSettings`, reporting what is wrong with it.
///
/// The value is either a folder (`links: links/`, every setting at its default) or a mapping of
/// `dir`, `probe`, `limits`, `pool` and `clusters` (per-cluster overrides of `probe`, `limits`
/// and `pool`).
struct LinksReader {
    static let keys = ["dir", "probe", "limits", "pool", "clusters"]
    static let clusterKeys = ["probe", "limits", "pool"]
    static let probeKeys = ["interval", "timeout", "failureThreshold"]
    static let limitKeys = ["services", "updatesPerSecond", "routes"]
    static let poolKeys = ["idle", "maxAge"]
    static let failureThresholds = 1...100
    static let services = 1...100_000
    static let updatesPerSecond = 1...100_000
    static let routes = 1...100_000
    static let poolIdle = 0...64
    static let poolMaxAge: ClosedRange<Duration> = .seconds(1) ... .seconds(3600)

    /// The folder relative paths resolve against (left as written when empty).
    let baseDirectory: String
    let diagnostics: Diagnostics

    /// The settings, or nil when the value or its `dir` is wrong (the errors are reported).
    func read(_ value: YAMLValue) -> LinksSettings? {
        switch value.node {
        case .scalar:
            return value.parsed(folder).map { LinksSettings(dir: $0) }
        case .mapping:
            break
        default:
            value.report("expected a folder or a mapping, found \(value.kind)")
            return nil
        }
        guard let map = value.map(known: Self.keys) else { return nil }
        let dir = map.value("dir", required: true)?.parsed(folder)
        let layer = readLayer(map)
        let defaults = layer.over(LinkSettings())
        checkProbe(layer, merged: defaults, map: map, inherited: "default", baseValid: true)
        let clusters = readClusters(map, defaults: defaults, defaultsValid: layer.durationsValid)
        guard let dir else { return nil }
        return LinksSettings(dir: dir, defaults: defaults, clusters: clusters)
    }

    /// The `probe`, `limits` and `pool` keys one level (the defaults, or one cluster) writes;
    /// nil where left out or wrong (the error is then reported).
    private struct Layer {
        var interval: Duration?
        var timeout: Duration?
        var failureThreshold: Int?
        var services: Int?
        var updatesPerSecond: Int?
        var routes: Int?
        var poolIdle: Int?
        var poolMaxAge: Duration?
        /// False when `interval` or `timeout` is written but wrong: they are not compared then.
        var durationsValid = true

        /// `base` with the values written here put over it.
        func over(_ base: LinkSettings) -> LinkSettings {
            LinkSettings(
                probeInterval: interval ?? base.probeInterval, probeTimeout: timeout ?? base.probeTimeout,
                failureThreshold: failureThreshold ?? base.failureThreshold, maxServices: services ?? base.maxServices,
                maxUpdatesPerSecond: updatesPerSecond ?? base.maxUpdatesPerSecond, maxRoutes: routes ?? base.maxRoutes,
                pool: WarmPoolPolicy(idle: poolIdle ?? base.pool.idle, maxAge: poolMaxAge ?? base.pool.maxAge))
        }
    }

    private func readLayer(_ map: YAMLMap) -> Layer {
        var layer = Layer()
        if let probe = map.value("probe")?.map(known: Self.probeKeys) {
            let interval = probe.value("interval")
            let timeout = probe.value("timeout")
            layer.interval = interval?.positiveDuration
            layer.timeout = timeout?.positiveDuration
            layer.durationsValid = (interval == nil || layer.interval != nil) && (timeout == nil || layer.timeout != nil)
            layer.failureThreshold = probe.value("failureThreshold")?.int(
                in: Self.failureThresholds, name: "failureThreshold")
        }
        if let limits = map.value("limits")?.map(known: Self.limitKeys) {
            layer.services = limits.value("services")?.int(in: Self.services, name: "services")
            layer.updatesPerSecond = limits.value("updatesPerSecond")?.int(
                in: Self.updatesPerSecond, name: "updatesPerSecond")
            layer.routes = limits.value("routes")?.int(in: Self.routes, name: "routes")
        }
        if let pool = map.value("pool")?.map(known: Self.poolKeys) {
            layer.poolIdle = pool.value("idle")?.int(in: Self.poolIdle, name: "idle")
            layer.poolMaxAge = pool.value("maxAge").flatMap(Self.poolMaxAge(_:))
        }
        return layer
    }

    /// `pool.maxAge`: a duration within `poolMaxAge` (1s–1h), else reported as out of range.
    private static func poolMaxAge(_ value: YAMLValue) -> Duration? {
        guard let maxAge = value.parsed(YAMLValue.duration) else { return nil }
        guard poolMaxAge.contains(maxAge) else {
            value.report(
                "maxAge \(DurationText.format(maxAge)) out of range (\(DurationText.format(poolMaxAge.lowerBound))–\(DurationText.format(poolMaxAge.upperBound)))")
            return nil
        }
        return maxAge
    }

    /// The overrides under `clusters`, each merged over `defaults`.
    private func readClusters(_ map: YAMLMap, defaults: LinkSettings, defaultsValid: Bool) -> [String: LinkSettings] {
        guard let value = map.value("clusters") else { return [:] }
        guard case .mapping(let mapping) = value.node else {
            value.report("expected a mapping of cluster names, found \(value.kind)")
            return [:]
        }
        // Any name is a known key here; a name that is not a DNS label is reported below.
        let names = mapping.compactMap { key, _ -> String? in
            guard case .scalar(let scalar) = key else { return nil }
            return scalar.string
        }
        guard let clusters = value.map(known: names) else { return [:] }
        var result: [String: LinkSettings] = [:]
        for name in names {
            var isLabel = true
            do {
                try DNSName.validateLabel(name)
            } catch {
                diagnostics.report(line: clusters.line(of: name), field: clusters.field(name), error.message)
                isLabel = false
            }
            // A cluster written without a value (`north:`) has no override.
            guard let entry = clusters.value(name)?.map(known: Self.clusterKeys) else { continue }
            let layer = readLayer(entry)
            let merged = layer.over(defaults)
            checkProbe(layer, merged: merged, map: entry, inherited: "from \(map.field("probe"))", baseValid: defaultsValid)
            if isLabel { result[name] = merged }
        }
        return result
    }

    /// Reports, on the level's `probe.timeout` field, a timeout that is not less than the interval.
    /// `inherited` says where a value the level leaves out comes from; nothing is compared when
    /// a value is wrong, or when the level writes neither (its base was checked already).
    private func checkProbe(_ layer: Layer, merged: LinkSettings, map: YAMLMap, inherited: String, baseValid: Bool) {
        let writesBoth = layer.interval != nil && layer.timeout != nil
        let writesAny = layer.interval != nil || layer.timeout != nil
        guard layer.durationsValid, writesAny, baseValid || writesBoth, merged.probeTimeout >= merged.probeInterval
        else { return }
        let field = map.field("probe") + ".timeout"
        let timeout = DurationText.format(merged.probeTimeout) + (layer.timeout == nil ? " (\(inherited))" : "")
        let interval = DurationText.format(merged.probeInterval) + (layer.interval == nil ? " (\(inherited))" : "")
        diagnostics.report(
            line: diagnostics.line(of: field), field: field, "timeout \(timeout) must be less than the interval \(interval)")
    }

    /// A non-empty folder, resolved against the config's folder.
    private func folder(_ text: String) throws(InvalidValue) -> String {
        try GatewayConfigReader.path(text, against: baseDirectory)
    }
}
