/// Writes the manifests as YAML documents (with a header saying what the seccomp choice means
/// and how descriptors are limited) or as one JSON `v1` List.
struct InstallRenderer {
    let settings: InstallSettings

    func render() throws -> String {
        let manifests = InstallManifests(settings: settings)
        switch settings.output {
        case .json:
            let list: ManifestValue = .object([
                "apiVersion": .string("v1"), "kind": .string("List"), "items": .list(manifests.resources),
            ])
            return list.json() + "\n"
        case .yaml:
            var out = header(manifests).map { "# \($0)".trimmingTrailingSpace + "\n" }.joined()
            for resource in manifests.resources {
                out += "---\n" + (try resource.yaml())
            }
            return out
        }
    }

    private func header(_ m: InstallManifests) -> [String] {
        [
            "meshgate \(MeshgateVersion.current): the gateway of cluster \(settings.cluster) in namespace \(settings.namespace).",
            "Identity: \(settings.identity.spiffeURI), from Secret \(settings.identitySecret)"
                + (settings.certManagerIssuer.map {
                    " (issued by cert-manager \($0.kind)/\($0.name); trust anchors from ConfigMap \(InstallManifests.Names.trust))"
                } ?? " (tls.crt, tls.key, ca.crt)."),
            "",
            "seccomp: \(m.seccompNote).",
            "File descriptors: Kubernetes sets no per-pod RLIMIT_NOFILE; the container inherits the",
            "runtime's (containerd and CRI-O usually 1048576). A proxied connection holds two sockets",
            "(plus a pipe pair while it splices); at EMFILE the gateway pauses accepting and logs it.",
            "Docs: docs/kubernetes.md",
        ]
    }
}

extension String {
    fileprivate var trimmingTrailingSpace: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
