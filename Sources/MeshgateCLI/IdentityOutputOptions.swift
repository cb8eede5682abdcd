import ArgumentParser
import Foundation
import MeshgateIdentity

/// The help and default validity of one identity subcommand's ``IdentityOutputOptions``.
protocol IdentityOutputKind {
    /// The files `--out` receives, for its help, e.g. `anchor.crt and anchor.key`.
    static var writtenFiles: String { get }
    /// `--valid`'s help.
    static var validHelp: String { get }
    /// `--valid`'s default, e.g. `24h`.
    static var defaultValidity: String { get }
    /// `--force`'s help; `Replace existing files.` unless the subcommand says more.
    static var forceHelp: String { get }
}

extension IdentityOutputKind {
    static var forceHelp: String { "Replace existing files." }
}

/// Something an identity subcommand creates: a certificate and the files to write.
protocol IdentityFileSet {
    /// The files, in the order they are written and listed.
    var files: [IdentityFile] { get }
    /// When the certificate ends.
    var notValidAfter: Date { get }
}

extension TrustAnchor: IdentityFileSet {
    var notValidAfter: Date { certificate.notValidAfter }
}

extension ClusterIssuer: IdentityFileSet {
    var notValidAfter: Date { certificate.notValidAfter }
}

extension LeafIdentity: IdentityFileSet {
    var notValidAfter: Date { certificate.notValidAfter }
}

/// `--out`, `--valid` and `--force`: where an identity subcommand writes what it creates, and
/// for how long that is valid.
struct IdentityOutputOptions<Kind: IdentityOutputKind>: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder to write \(Kind.writtenFiles) to (created if missing)."))
    var out: String

    @Option(name: .long, help: ArgumentHelp(Kind.validHelp))
    var valid: String = Kind.defaultValidity

    @Flag(name: .long, help: ArgumentHelp(Kind.forceHelp))
    var force = false

    /// Checks `--valid` (ArgumentParser calls this before the subcommand's own `validate()`).
    func validate() throws {
        _ = try validity()
    }

    /// `--valid` as a duration; a usage error naming the flag when it is not one.
    func validity() throws -> Duration {
        try IdentitySupport.validity(valid)
    }

    /// Creates the files with `make` (given `--valid`) and writes them to `--out`, replacing
    /// existing ones only with `--force`. An ``IdentityError`` becomes a usage error (exit 2).
    func write<Made: IdentityFileSet>(_ make: (Duration) throws(IdentityError) -> Made) throws -> Made {
        let validity = try validity()
        return try IdentitySupport.run { () throws(IdentityError) in
            let made = try make(validity)
            try IdentityFiles.write(made.files, into: out, force: force)
            return made
        }
    }

    /// Prints the summary: `wrote OUT/a, OUT/b`, then `SUBJECT, valid until END`.
    func printSummary(_ made: some IdentityFileSet, _ subject: String) {
        print("wrote \(IdentitySupport.written(made.files, in: out))")
        print("\(subject), valid until \(ValidityWindow.describe(made.notValidAfter))")
    }
}
