import ArgumentParser
import Foundation
import MeshgateControl
import MeshgateIdentity
import MeshgateNames

/// `meshgate link`: this cluster's link bundle, and the links folder (docs/links.md).
struct LinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Print this cluster's link bundle; add or remove other clusters' bundles in the links folder.",
        discussion: """
            `meshgate link --config gateway.yaml [--address HOST:PORT ...]` prints the bundle \
            (cluster, gateway addresses, gateway identity, trust anchors; no secrets) for another \
            cluster to `meshgate link add`. See docs/links.md.
            """,
        subcommands: [LinkShowCommand.self, LinkAddCommand.self, LinkRemoveCommand.self],
        defaultSubcommand: LinkShowCommand.self
    )
}

/// `meshgate link [show] --config gateway.yaml [--address HOST:PORT ...]`.
struct LinkShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print this cluster's link bundle (the default of `meshgate link`)."
    )

    @Option(name: .long, help: "The gateway configuration file (YAML).")
    var config: String

    @Option(
        name: .long,
        help: ArgumentHelp(
            "An address other clusters reach this gateway's inbound port at (host names allowed); repeat for several.",
            discussion: "Default: inbound.listen, which must then not be 0.0.0.0 or [::].",
            valueName: "host:port"))
    var address: [String] = []

    func run() throws {
        let gateway = try LinkSupport.loadConfig(config)
        var gateways: [HostPort] = []
        for text in address {
            do {
                gateways.append(try HostPort.parse(text))
            } catch {
                throw ValidationError("--address '\(text)': \(error.message)")
            }
        }
        if gateways.isEmpty {
            let listen = gateway.inbound.listen
            guard !IPAddress.isWildcard(listen.host) else {
                throw ValidationError(
                    "inbound.listen is \(listen), which other clusters cannot dial; give the address they reach this gateway at with --address HOST:PORT (several allowed)")
            }
            gateways = [listen]
        }
        guard gateways.count <= LinkBundle.maxGateways else {
            throw ValidationError("\(gateways.count) addresses: a bundle lists at most \(LinkBundle.maxGateways) (other clusters refuse more)")
        }
        guard let identity = gateway.gatewayIdentity else {
            throw ValidationError("cluster '\(gateway.cluster)' is too long to name a gateway identity")
        }
        let anchors: [Data]
        do {
            anchors = try PEMCertificates.parse(try LinkSupport.read(gateway.identity.trust))
        } catch {
            throw LinkSupport.failure(["\(gateway.identity.trust): trust bundle: \(error.message)"])
        }
        guard !anchors.isEmpty else { throw LinkSupport.failure(["\(gateway.identity.trust): trust bundle: holds no CERTIFICATE block"]) }
        let bundle = LinkBundle(cluster: gateway.cluster, gateways: gateways, identity: identity, anchors: anchors)
        print(bundle.render(), terminator: "")
    }
}

/// `meshgate link add FILE --config gateway.yaml`.
struct LinkAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Check another cluster's link bundle and copy it into the links folder as <cluster>.link.yaml.",
        discussion: """
            The bundle must parse, name another cluster than ours, name that cluster's gateway \
            identity (spiffe://<td>/ns/meshgate-<cluster>/sa/gateway) in our trust domain and share \
            a trust anchor with our identity.trust bundle. A bundle of a cluster already linked is \
            compared with the one in place: what changes (addresses, identity, anchors) is printed, \
            and it is written only with --replace. The file is written to a temporary name and \
            renamed into place.
            """
    )

    @Argument(help: "The link bundle file (from `meshgate link` in the other cluster).")
    var file: String

    @Option(name: .long, help: "The gateway configuration file (YAML); its `links:` names the folder.")
    var config: String

    @Flag(name: .long, help: "Replace the bundle of a cluster already linked (the changes are printed either way).")
    var replace = false

    func run() throws {
        let gateway = try LinkSupport.loadConfig(config)
        let folder = try LinkSupport.linksFolder(gateway, config: config)
        let text: String
        let bundle: LinkBundle
        do {
            text = try ConfigFile.read(path: file)
            bundle = try LinkBundle.parse(yaml: text, fileName: file)
            try bundle.checkLinkable(into: gateway)
        } catch {
            throw LinkSupport.failure(error.errors.map(\.description))
        }
        let target = LinkSupport.join(folder, bundle.fileName)
        let replaced = FileManager.default.fileExists(atPath: target)
        var changes: [String] = []
        if replaced {
            // A bundle in place that does not parse is repaired without --replace: it links
            // nothing (the running mirror keeps its last good bundle until then).
            if let old = try? LinkBundle.load(path: target) {
                changes = bundle.changes(from: old)
                if changes.isEmpty {
                    print("link to cluster \(bundle.cluster) unchanged: \(target) holds the same bundle")
                    return
                }
            } else {
                changes = ["the bundle in place did not parse; replaced whole"]
            }
            guard replace || (try? LinkBundle.load(path: target)) == nil else {
                throw LinkSupport.failure(
                    ["\(target): cluster \(bundle.cluster) is already linked; this bundle changes:"] + changes.map { "  \($0)" }
                        + ["nothing written: pass --replace to replace it"])
            }
        }
        do {
            try MeshgateIdentity.IdentityFiles.write([MeshgateIdentity.IdentityFile(name: bundle.fileName, contents: text, isPrivateKey: false)], into: folder, force: true)
        } catch {
            throw RuntimeError(error.description)
        }
        let count = bundle.gateways.count
        print("\(replaced ? "replaced" : "added") link to cluster \(bundle.cluster): \(target) (\(count) gateway address\(count == 1 ? "" : "es"), identity \(bundle.identity))")
        for line in changes { print("  \(line)") }
    }
}

/// `meshgate link remove NAME --config gateway.yaml`.
struct LinkRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Delete the link bundle of cluster NAME (<NAME>.link.yaml) from the links folder."
    )

    @Argument(help: "The linked cluster's name.")
    var name: String

    @Option(name: .long, help: "The gateway configuration file (YAML); its `links:` names the folder.")
    var config: String

    func run() throws {
        guard DNSName.isLabel(name) else {
            throw ValidationError("'\(name)' is not a cluster name (a DNS label: lowercase letters, digits and '-')")
        }
        let gateway = try LinkSupport.loadConfig(config)
        let folder = try LinkSupport.linksFolder(gateway, config: config)
        let target = LinkSupport.join(folder, name + LinkBundle.fileSuffix)
        guard FileManager.default.fileExists(atPath: target) else {
            throw LinkSupport.failure(["\(target): no link to cluster \(name) in the links folder \(folder)"])
        }
        do {
            try FileManager.default.removeItem(atPath: target)
        } catch {
            throw RuntimeError("cannot remove \(target): \((error as NSError).localizedDescription)")
        }
        print("removed link to cluster \(name): \(target)")
    }
}

/// What the link subcommands share.
enum LinkSupport {
    /// The gateway config, or its errors on standard error (one a line) and exit 2.
    static func loadConfig(_ path: String) throws -> GatewayConfig {
        do {
            return try GatewayConfig.load(path: path)
        } catch {
            throw failure(error.errors.map(\.description))
        }
    }

    /// The config's links folder; an error when `links:` is not set.
    static func linksFolder(_ config: GatewayConfig, config path: String) throws -> String {
        guard let folder = config.links?.dir else {
            throw failure(["\(path): links: not set; add `links: <folder>` (where link bundles are kept) to the gateway config"])
        }
        return folder
    }

    static func read(_ path: String) throws(InvalidValue) -> String {
        do {
            return try ConfigFile.read(path: path)
        } catch {
            throw InvalidValue(error.errors.first?.message ?? "cannot read the file")
        }
    }

    /// `folder/name`.
    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    /// Prints each line on standard error; the exit code (2) to throw.
    static func failure(_ lines: [String]) -> ExitCode {
        FileHandleStandardError.write(lines.joined(separator: "\n") + "\n")
        return ExitCode(2)
    }
}
