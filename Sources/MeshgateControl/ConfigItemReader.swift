/// Reads one item of a list in a configuration file (`routes:`, `services:`): a mapping with
/// known keys, dropped as a whole when any of its fields was wrong (the errors stand for it).
protocol ConfigItemReader {
    associatedtype Item
    /// The keys an item may have; any other is reported.
    static var keys: [String] { get }
    /// Where the errors go.
    var diagnostics: Diagnostics { get }
    /// The item made of `map`'s fields (`line` is where it starts), or nil when one it needs is
    /// missing; what is wrong is reported to `diagnostics`.
    func item(of map: YAMLMap, line: Int) -> Item?
}

extension ConfigItemReader {
    /// The item, or nil when it is not a mapping or any of its fields was wrong (the errors are reported).
    func read(_ item: YAMLValue) -> Item? {
        guard let map = item.map(known: Self.keys) else { return nil }
        return diagnostics.unlessErrors { self.item(of: map, line: item.line) }
    }
}
