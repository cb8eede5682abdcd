import ArgumentParser
import MeshgateIdentity
import MeshgateNames

/// `meshgate identity init`: a new trust anchor.
struct IdentityInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a trust anchor: a self-signed root CA (OUT/anchor.crt, OUT/anchor.key).",
        discussion: "The trust domain is recorded as the subject organization (O=TRUST-DOMAIN); issuers learn it from there."
    )

    @Option(name: .long, help: "The trust domain, a DNS name (e.g. cluster.local).")
    var trustDomain: String

    @Option(name: .long, help: "Folder to write anchor.crt and anchor.key to (created if missing).")
    var out: String

    @Option(name: .long, help: "How long the anchor is valid (e.g. 87600h, 3650d).")
    var valid: String = "87600h"

    @Flag(name: .long, help: "Replace existing files.")
    var force = false

    func validate() throws {
        _ = try IdentitySupport.validity(valid)
        guard DNSName.isName(trustDomain) else {
            throw ValidationError("--trust-domain '\(trustDomain)': not a DNS name (lowercase letters, digits, '-', dots)")
        }
    }

    func run() throws {
        let validity = try IdentitySupport.validity(valid)
        let anchor = try IdentitySupport.run { () throws(IdentityError) in
            let anchor = try TrustAnchor.create(trustDomain: trustDomain, validity: validity)
            try IdentityFiles.write(anchor.files, into: out, force: force)
            return anchor
        }
        print("wrote \(IdentitySupport.written(anchor.files, in: out))")
        print("trust anchor for \(anchor.trustDomain), valid until \(ValidityWindow.describe(anchor.certificate.notValidAfter))")
    }
}
