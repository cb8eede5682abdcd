import ArgumentParser
import MeshgateIdentity

/// `meshgate identity inspect`: what the certificates in a PEM file say.
struct IdentityInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show each certificate in a PEM file: subject, issuer, identities, CA or leaf, validity, key type.",
        discussion: "An expired certificate is reported (EXPIRED ... ago), not an error: the exit status is 0."
    )

    @Argument(help: "A PEM file: a certificate, a chain (tls.crt) or a trust bundle (ca.crt).")
    var file: String

    @Flag(name: .long, help: "Print a JSON array instead of text.")
    var json = false

    func run() throws {
        let summaries = try IdentitySupport.run { () throws(IdentityError) in try CertificateSummary.load(path: file) }
        if json {
            print(CertificateSummary.json(summaries))
            return
        }
        for (index, summary) in summaries.enumerated() {
            if index > 0 { print("") }
            print("\(file): certificate \(index + 1) of \(summaries.count)")
            print(summary.text)
        }
    }
}
