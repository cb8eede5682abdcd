import ArgumentParser
import Foundation
import MeshgateIdentity
import MeshgateNames

/// Shared pieces of the `meshgate identity` subcommands.
enum IdentitySupport {
    /// `--valid` as a duration: `24h`, `90m`, `30d`, `8760h`; up to 100 years.
    static func validity(_ text: String) throws -> Duration {
        let duration = try DurationFlag.parse("valid", text)
        guard duration >= .seconds(1), duration <= ValidityWindow.maximum else {
            throw ValidationError("--valid '\(text)': must be from 1s to 100 years")
        }
        return duration
    }

    /// Runs `body`; an ``IdentityError`` (which names its file or value) becomes a one-line
    /// usage error, exit status 2.
    static func run<T>(_ body: () throws(IdentityError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw ValidationError(error.message)
        }
    }

    /// The note printed on standard error when a validity was cut to the signer's.
    static func clampNote(_ asked: Date?, signer: String, end: Date) {
        guard let asked else { return }
        FileHandleStandardError.write(
            "meshgate: note: the validity asked for (to \(ValidityWindow.describe(asked))) reaches past \(signer)'s; "
                + "the certificate ends with it, at \(ValidityWindow.describe(end))\n")
    }

    /// `DIR/a, DIR/b` for the summary line.
    static func written(_ files: [IdentityFile], in directory: String) -> String {
        files.map { IdentityFiles.join(directory, $0.name) }.joined(separator: ", ")
    }
}
