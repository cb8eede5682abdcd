extension Registry {
    /// Reads and checks the registry file at `path`.
    public static func load(path: String) throws(ConfigErrors) -> Registry {
        try parse(yaml: try ConfigFile.read(path: path), fileName: path)
    }

    /// Checks registry text; `fileName` is what errors name. An empty file is an error (write
    /// `services: []`), so that a file caught half-written never empties the registry.
    public static func parse(yaml: String, fileName: String = "registry.yaml") throws(ConfigErrors) -> Registry {
        let diagnostics = Diagnostics(file: fileName)
        guard let root = YAMLDocument.rootMapping(yaml, known: ["services"], diagnostics: diagnostics) else {
            throw ConfigErrors(diagnostics.sortedErrors)
        }
        let reader = ServiceReader(diagnostics: diagnostics)
        let services = root.value("services", required: true)?.list?.compactMap(reader.read) ?? []
        diagnostics.reportDuplicateNames(
            services, noun: "service", list: "services", namespace: \.namespace, name: \.name, line: \.line)
        try diagnostics.throwIfAny()
        return Registry(services: services)
    }
}
