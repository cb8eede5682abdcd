/// The `links:` section of gateway.yaml: the folder of link bundles, the settings every link's
/// mirror uses, and per-cluster overrides of them.
public struct LinksSettings: Hashable, Sendable {
    /// The folder of link bundles (`<cluster>.link.yaml`), resolved against the config's folder.
    public let dir: String
    /// The settings of a link without an override.
    public let defaults: LinkSettings
    /// Overrides by cluster name (a DNS label), already merged with `defaults`.
    public let clusters: [String: LinkSettings]

    /// Creates the value; no overrides and all defaults unless given.
    public init(dir: String, defaults: LinkSettings = LinkSettings(), clusters: [String: LinkSettings] = [:]) {
        self.dir = dir
        self.defaults = defaults
        self.clusters = clusters
    }

    /// The settings of the link to `cluster`: its override if there is one, else `defaults`.
    public func settings(for cluster: String) -> LinkSettings {
        clusters[cluster] ?? defaults
    }
}
