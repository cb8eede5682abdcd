extension Registry {
    /// The registry file at `path`, read now (throwing when it is broken) and, once the result is
    /// started, read again whenever it changes; a broken edit keeps the last good registry and is
    /// reported through `onError`.
    public static func reloading(
        path: String, interval: Duration = .seconds(1), onReload: @escaping @Sendable (Registry) -> Void = { _ in },
        onError: @escaping @Sendable (ConfigErrors) -> Void = { _ in }
    ) throws(ConfigErrors) -> ReloadingFile<Registry> {
        try ReloadingFile(
            path: path, interval: interval, parse: { (path: String) throws(ConfigErrors) -> Registry in try Registry.load(path: path) },
            onReload: onReload, onError: onError)
    }
}
