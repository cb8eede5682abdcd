import ArgumentParser
import MeshgateIdentity
import MeshgateNames

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

    @Option(name: .long, help: "Folder to write issuer.crt, issuer.key and ca.crt to (created if missing).")
    var out: String

    @Option(name: .long, help: "How long the issuer is valid; never beyond the anchor (e.g. 8760h).")
    var valid: String = "8760h"

    @Flag(name: .long, help: "Replace existing files.")
    var force = false

    func validate() throws {
        _ = try IdentitySupport.validity(valid)
        guard DNSName.isLabel(cluster) else {
            throw ValidationError("--cluster '\(cluster)': not a DNS label (1-63 lowercase letters, digits, '-')")
        }
    }

    func run() throws {
        let validity = try IdentitySupport.validity(valid)
        let issuer = try IdentitySupport.run { () throws(IdentityError) in
            let anchor = try IdentityFolders.loadAnchor(from: self.anchor)
            let issuer = try ClusterIssuer.create(anchor: anchor, cluster: cluster, validity: validity)
            try IdentityFiles.write(issuer.files, into: out, force: force)
            return issuer
        }
        IdentitySupport.clampNote(issuer.clampedFrom, signer: "the trust anchor", end: issuer.certificate.notValidAfter)
        print("wrote \(IdentitySupport.written(issuer.files, in: out))")
        print(
            "issuer for cluster \(issuer.cluster) in \(issuer.trustDomain), "
                + "valid until \(ValidityWindow.describe(issuer.certificate.notValidAfter))")
    }
}
