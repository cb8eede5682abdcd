import ArgumentParser
import MeshgateIdentity

/// `meshgate identity init`: a new trust anchor.
struct IdentityInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a trust anchor: a self-signed root CA (OUT/anchor.crt, OUT/anchor.key).",
        discussion: "The trust domain is recorded as the subject organization (O=TRUST-DOMAIN); issuers learn it from there."
    )

    @Option(name: .long, help: "The trust domain, a DNS name (e.g. cluster.local).")
    var trustDomain: String

    @OptionGroup var output: IdentityOutputOptions<Self>

    func validate() throws {
        try DNSNameFlag.requireName(trustDomain, flag: "trust-domain")
    }

    func run() throws {
        let anchor = try output.write { validity throws(IdentityError) in
            try TrustAnchor.create(trustDomain: trustDomain, validity: validity)
        }
        output.printSummary(anchor, "trust anchor for \(anchor.trustDomain)")
    }
}

extension IdentityInitCommand: IdentityOutputKind {
    static let writtenFiles = "anchor.crt and anchor.key"
    static let validHelp = "How long the anchor is valid (e.g. 87600h, 3650d)."
    static let defaultValidity = "87600h"
}
