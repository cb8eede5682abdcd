extension LinkBundle {
    /// The bundle as YAML (docs/links.md): keys in a fixed order, each gateway quoted, the
    /// anchors re-encoded from DER as a literal block. The same bundle always renders the same text.
    public func render() -> String {
        var text = """
            apiVersion: \(Self.apiVersion)
            kind: \(Self.kind)
            cluster: \(Self.plain(cluster))
            gateways:

            """
        for gateway in gateways { text += "  - \"\(gateway)\"\n" }
        text += "identity: \(identity.spiffeURI)\n"
        text += "anchors: |\n"
        for line in PEMCertificates.render(anchors).split(separator: "\n") { text += "  \(line)\n" }
        return text
    }

    /// A DNS label as a YAML value: quoted when YAML would read it as null.
    private static func plain(_ label: String) -> String {
        ["null", "~"].contains(label) ? "\"\(label)\"" : label
    }
}
