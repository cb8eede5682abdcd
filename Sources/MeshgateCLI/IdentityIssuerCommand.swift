import ArgumentParser
import MeshgateIdentity

/// `meshgate identity issuer`: a cluster's intermediate CA, signed by the anchor.
struct IdentityIssuerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issuer",
        abstract: "Create a cluster issuer signed by the anchor (OUT/issuer.crt, OUT/issuer.key, OUT/ca.crt).",
        discussion: """
            The issuer is an intermediate CA with path length 0, named 'meshgate issuer CLUSTER'. \
            OUT/ca.crt is a copy of the anchor: the trust bundle that leaves issued here will trust.
            """
    )

    @Option(name: .long, help: "Folder holding anchor.crt and anchor.key (from 'identity init').")
    var anchor: String

    @Option(name: .long, help: "The cluster's name, a DNS label (e.g. west).")
    var cluster: String

    @OptionGroup var output: IdentityOutputOptions<Self>

    func validate() throws {
        try DNSNameFlag.requireLabel(cluster, flag: "cluster")
    }

    func run() throws {
        let issuer = try output.write { validity throws(IdentityError) in
            let anchor = try IdentityFolders.loadAnchor(from: self.anchor)
            return try ClusterIssuer.create(anchor: anchor, cluster: cluster, validity: validity)
        }
        IdentitySupport.clampNote(issuer.clampedFrom, signer: "the trust anchor", end: issuer.certificate.notValidAfter)
        output.printSummary(issuer, "issuer for cluster \(issuer.cluster) in \(issuer.trustDomain)")
    }
}

extension IdentityIssuerCommand: IdentityOutputKind {
    static let writtenFiles = "issuer.crt, issuer.key and ca.crt"
    static let validHelp = "How long the issuer is valid; never beyond the anchor (e.g. 8760h)."
    static let defaultValidity = "8760h"
}
