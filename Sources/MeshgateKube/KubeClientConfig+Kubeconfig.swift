import Foundation
import Yams

extension KubeClientConfig {
    /// Reads a kubeconfig file: `context` or the file's `current-context`; from its cluster
    /// `server`, `certificate-authority(-data)`, `insecure-skip-tls-verify`; from its user
    /// `token`, `tokenFile`, or `client-certificate(-data)` + `client-key(-data)`; the context's
    /// `namespace`. Paths are relative to the file's folder. Credentials this client cannot use
    /// (`exec`, `auth-provider`, `username`/`password`, `proxy-url`…) are errors naming the field.
    public static func kubeconfig(path: String, context: String? = nil) throws(KubeConfigError) -> KubeClientConfig {
        let reader = KubeconfigReader(path: path)
        return try reader.read(context: context)
    }
}

/// Walks a kubeconfig document (YAML or JSON) and turns the selected context into a config.
struct KubeconfigReader {
    let path: String

    private typealias Map = [String: Any]

    func read(context wanted: String?) throws(KubeConfigError) -> KubeClientConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KubeConfigError(message: "kubeconfig \(path): cannot read the file")
        }
        let root: Map
        do {
            guard let loaded = try Yams.load(yaml: String(decoding: data, as: UTF8.self)) as? Map else {
                throw fail("", "not a YAML map")
            }
            root = loaded
        } catch let error as KubeConfigError {
            throw error
        } catch {
            throw fail("", "not valid YAML: \(error)")
        }
        let contextName: String
        if let wanted {
            contextName = wanted
        } else {
            guard let current = root["current-context"] as? String, !current.isEmpty else {
                throw fail("current-context", "not set (name a context)")
            }
            contextName = current
        }
        let (ci, context) = try named("contexts", contextName, in: root)
        let contextField = "contexts[\(ci)].context"
        guard let ctx = context["context"] as? Map else { throw fail(contextField, "missing") }
        guard let clusterName = ctx["cluster"] as? String else { throw fail(contextField + ".cluster", "missing") }
        let userName = ctx["user"] as? String
        let namespace = (ctx["namespace"] as? String).flatMap { $0.isEmpty ? nil : $0 }

        let (ki, clusterEntry) = try named("clusters", clusterName, in: root)
        let clusterField = "clusters[\(ki)].cluster"
        guard let cluster = clusterEntry["cluster"] as? Map else { throw fail(clusterField, "missing") }
        for unsupported in ["proxy-url", "tls-server-name", "disable-compression"] where cluster[unsupported] != nil {
            throw fail("\(clusterField).\(unsupported)", "not supported")
        }
        guard let server = cluster["server"] as? String, !server.isEmpty else {
            throw fail(clusterField + ".server", "missing")
        }
        let insecure = try bool(cluster["insecure-skip-tls-verify"], "\(clusterField).insecure-skip-tls-verify")
        let caPEM = try bytes(
            data: cluster["certificate-authority-data"], file: cluster["certificate-authority"], field: clusterField,
            key: "certificate-authority")

        var auth = KubeClientConfig.Auth.none
        if let userName {
            let (ui, userEntry) = try named("users", userName, in: root)
            let userField = "users[\(ui)].user"
            let user = userEntry["user"] as? Map ?? [:]
            let hint = "not supported (use a token, tokenFile or a client certificate)"
            for unsupported in [
                "exec", "auth-provider", "username", "password", "as", "as-uid", "as-groups", "as-user-extra",
            ] where user[unsupported] != nil {
                throw fail("\(userField).\(unsupported)", hint)
            }
            let cert = try bytes(
                data: user["client-certificate-data"], file: user["client-certificate"], field: userField,
                key: "client-certificate")
            let key = try bytes(
                data: user["client-key-data"], file: user["client-key"], field: userField, key: "client-key")
            if let tokenFile = user["tokenFile"] {
                guard let file = tokenFile as? String, !file.isEmpty else { throw fail("\(userField).tokenFile", "not a path") }
                auth = .tokenFile(resolve(file))
            } else if let token = user["token"] {
                guard let token = token as? String, !token.isEmpty else { throw fail("\(userField).token", "not a string") }
                auth = .token(token)
            }
            switch (cert, key) {
            case (nil, nil): break
            case (let cert?, let key?):
                if auth != .none {
                    throw fail(userField, "both a token and a client certificate: not supported (use one)")
                }
                auth = .clientCertificate(certPEM: cert, keyPEM: key)
            case (nil, _): throw fail("\(userField).client-certificate", "missing (client-key is set)")
            case (_, nil): throw fail("\(userField).client-key", "missing (client-certificate is set)")
            }
        }
        return KubeClientConfig(
            server: server, caPEM: caPEM, auth: auth, insecureSkipTLSVerify: insecure, namespace: namespace)
    }

    private func named(_ list: String, _ name: String, in root: Map) throws(KubeConfigError) -> (Int, Map) {
        let entries = root[list] as? [Any] ?? []
        for (index, entry) in entries.enumerated() {
            if let map = entry as? Map, map["name"] as? String == name { return (index, map) }
        }
        throw fail(list, "no entry named \"\(name)\"")
    }

    private func bool(_ value: Any?, _ field: String) throws(KubeConfigError) -> Bool {
        switch value {
        case nil: return false
        case let b as Bool: return b
        default: throw fail(field, "not true or false")
        }
    }

    /// `KEY-data` (base64) or `KEY` (a path relative to the kubeconfig's folder).
    private func bytes(data: Any?, file: Any?, field: String, key: String) throws(KubeConfigError) -> [UInt8]? {
        if let data {
            guard let text = data as? String,
                let decoded = Data(base64Encoded: text, options: .ignoreUnknownCharacters)
            else { throw fail("\(field).\(key)-data", "not base64") }
            return [UInt8](decoded)
        }
        if let file {
            guard let path = file as? String, !path.isEmpty else { throw fail("\(field).\(key)", "not a path") }
            let full = resolve(path)
            guard let contents = FileManager.default.contents(atPath: full) else {
                throw fail("\(field).\(key)", "cannot read \(full)")
            }
            return [UInt8](contents)
        }
        return nil
    }

    private func resolve(_ file: String) -> String {
        if file.hasPrefix("/") { return file }
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? file : folder + "/" + file
    }

    private func fail(_ field: String, _ what: String) -> KubeConfigError {
        KubeConfigError(message: field.isEmpty ? "kubeconfig \(path): \(what)" : "kubeconfig \(path): \(field): \(what)")
    }
}
