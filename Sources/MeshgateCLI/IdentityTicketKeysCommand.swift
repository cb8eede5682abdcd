import ArgumentParser
import Foundation
import MeshgateIdentity
import MeshgateTLS

/// `meshgate identity ticket-keys`: the session ticket key file a gateway's replicas share
/// (docs/tls.md, "Session ticket keys"), made and rotated.
struct IdentityTicketKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ticket-keys",
        abstract: "Create or rotate a session ticket key file shared by a gateway's replicas.",
        discussion: """
            One base64 line of 80 random bytes per key; the first key encrypts new tickets, every \
            key decrypts. --rotate puts a new key in front of the file's keys and drops the oldest \
            beyond --keys: run it periodically and the gateways watching the file \
            (identity.ticketKeys) pick the new key up ('proxy --tls-ticket-keys' reads it at \
            start). A replaced key decrypts \
            for (keys - 1) rotation periods more; make that at least the ticket lifetime (2h) so \
            that every ticket stays usable for its whole life. The file is written with mode 0600, atomically; an existing one is replaced \
            only with --rotate. Without --out, the keys go to standard output (e.g. for \
            'kubectl create secret generic NAME --from-file=ticket-keys=/dev/stdin').
            """
    )

    /// The most keys a file gets: enough for any rotation schedule, few enough to try per ticket.
    static let maximumKeys = 16

    @Option(name: .long, help: ArgumentHelp("The key file to write (mode 0600); standard output when omitted.", valueName: "file"))
    var out: String?

    @Option(
        name: .long, help: ArgumentHelp("Keys in the file, 1–16 (with --rotate: the new key and the newest existing ones).", valueName: "n")
    )
    var keys: Int = 2

    @Flag(
        name: .long,
        help: "Rotate the existing --out file: a new key first (it encrypts from now on), its keys after it (they still decrypt).")
    var rotate = false

    func validate() throws {
        guard (1...Self.maximumKeys).contains(keys) else {
            throw ValidationError("--keys \(keys): must be from 1 to \(Self.maximumKeys)")
        }
        if rotate && out == nil { throw ValidationError("--rotate needs --out (the key file to rotate)") }
    }

    func run() throws {
        guard let out else {
            print(Self.fileText(Self.freshKeys(keys)), terminator: "")
            return
        }
        let kept = rotate ? try Self.existingKeys(out).prefix(keys - 1) : []
        let written = (rotate ? [TLSTicketKey.random()] : Self.freshKeys(keys)) + kept
        try Self.write(Self.fileText(written), to: out, replacing: rotate)
        let kind = rotate ? "a new key and \(kept.count) kept" : "\(written.count) new key\(written.count == 1 ? "" : "s")"
        print("wrote \(out): \(kind); key \(written[0].nameHex) encrypts")
    }

    /// `count` new random keys (OpenSSL's CSPRNG, as generated rings use).
    static func freshKeys(_ count: Int) -> [TLSTicketKey] {
        (0..<count).map { _ in TLSTicketKey.random() }
    }

    /// The file's keys, read with the parser the gateway uses; a usage error naming the file and
    /// line when it is missing or bad.
    static func existingKeys(_ path: String) throws -> [TLSTicketKey] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("--rotate: \(path) does not exist (create it without --rotate)")
        }
        do {
            return try TLSTicketKeys.keys(inFile: path)
        } catch {
            throw ValidationError("--rotate: \(error.message)")
        }
    }

    /// One key per line.
    static func fileText(_ keys: [TLSTicketKey]) -> String {
        keys.map { TLSTicketKeys.keyFileLine($0) + "\n" }.joined()
    }

    /// Writes `text` to `path` with mode 0600 through a temporary file and a rename, so that a
    /// gateway watching it never reads half a file; an existing file only when `replacing`.
    static func write(_ text: String, to path: String, replacing: Bool) throws {
        let url = URL(fileURLWithPath: path)
        let file = IdentityFile(name: url.lastPathComponent, contents: text, isPrivateKey: true)
        do {
            try IdentityFiles.write([file], into: url.deletingLastPathComponent().path, force: replacing)
        } catch let error where error.code == .fileExists {
            throw ValidationError("\(path) exists; refusing to overwrite it (use --rotate to put a new key in front of its keys)")
        } catch {
            throw ValidationError(error.message)
        }
    }
}
