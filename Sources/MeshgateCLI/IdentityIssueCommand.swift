import ArgumentParser
import MeshgateIdentity
import MeshgateNames

/// `meshgate identity issue`: a leaf certificate for one workload identity.
struct IdentityIssueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Issue a leaf certificate (OUT/tls.crt with the issuer, OUT/tls.key, OUT/ca.crt).",
        discussion: """
            The leaf names SA.NS.serviceaccount.identity.TRUST-DOMAIN and \
            spiffe://TRUST-DOMAIN/ns/NS/sa/SA. It is valid from 5 minutes ago for --valid, cut to \
            the issuer's end if that comes first. --gateway is --namespace meshgate-CLUSTER --name \
            gateway, CLUSTER read from the issuer. Files are replaced atomically with --force, so \
            re-running into the same folder rotates the certificate under a watching gateway.
            """
    )

    @Option(name: .long, help: "Folder holding issuer.crt, issuer.key and ca.crt (from 'identity issuer').")
    var issuer: String

    @Option(name: .long, help: "The workload's namespace, a DNS label.")
    var namespace: String?

    @Option(name: .long, help: "The workload's service account name.")
    var name: String?

    @Flag(name: .long, help: "Issue the cluster gateway's identity (namespace meshgate-CLUSTER, name gateway).")
    var gateway = false

    @OptionGroup var output: IdentityOutputOptions<Self>

    func validate() throws {
        if gateway {
            if namespace != nil { throw ValidationError("--namespace cannot be combined with --gateway") }
            if name != nil { throw ValidationError("--name cannot be combined with --gateway") }
            return
        }
        guard let namespace else { throw ValidationError("--namespace is required (or --gateway)") }
        guard let name else { throw ValidationError("--name is required (or --gateway)") }
        try DNSNameFlag.requireLabel(namespace, flag: "namespace")
        try DNSNameFlag.requireName(name, flag: "name")
    }

    func run() throws {
        let leaf = try output.write { validity throws(IdentityError) in
            let issuer = try IdentityFolders.loadIssuer(from: self.issuer)
            if gateway {
                return try LeafIdentity.issueGateway(issuer: issuer, validity: validity)
            }
            return try LeafIdentity.issue(issuer: issuer, namespace: namespace ?? "", serviceAccount: name ?? "", validity: validity)
        }
        IdentitySupport.clampNote(leaf.clampedFrom, signer: "the issuer", end: leaf.certificate.notValidAfter)
        output.printSummary(leaf, leaf.identity.spiffeURI)
    }
}

extension IdentityIssueCommand: IdentityOutputKind {
    static let writtenFiles = "tls.crt, tls.key and ca.crt"
    static let validHelp = "How long the leaf is valid; never beyond the issuer (e.g. 24h)."
    static let defaultValidity = "24h"
    static let forceHelp = "Replace existing files (rotation)."
}
