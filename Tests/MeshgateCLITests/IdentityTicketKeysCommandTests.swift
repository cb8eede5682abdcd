import Foundation
import MeshgateTLS
import MeshgateTestKit
import Testing

/// `meshgate identity ticket-keys` through the built binary: the key file it writes is read back
/// with the parser the gateway uses (`TLSTicketKeys(contentsOfFile:)`).
@Suite struct IdentityTicketKeysCommandTests {
    static func meshgate(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.run([MeshgateProcess.binary, "identity", "ticket-keys"] + arguments, timeout: 30)
    }

    /// The key file's lines (it has no comments or blank lines).
    static func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// The file's permission bits.
    static func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// Checks that `path` holds `count` distinct keys the gateway's parser accepts, one per line,
    /// in the file's order; returns their lines.
    @discardableResult
    static func expectKeyFile(_ path: String, count: Int) throws -> [String] {
        let lines = try lines(path)
        let keys = try TLSTicketKeys.keys(inFile: path)
        #expect(lines.count == count && keys.count == count, "\(lines)")
        #expect(keys.map(TLSTicketKeys.keyFileLine) == lines)
        #expect(try TLSTicketKeys(contentsOfFile: path).keyNames == keys.map(\.name))
        return lines
    }

    /// Runs `body` with a new folder (removed afterwards) and the path `FOLDER/ticket-keys`,
    /// which `meshgate identity ticket-keys --out` has made when `made`.
    static func inFolder(_ label: String, made: Bool = false, _ body: (_ folder: String, _ file: String) throws -> Void) throws {
        let folder = try makeTestDirectory(label)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = folder + "/ticket-keys"
        if made {
            let run = try meshgate(["--out", file])
            guard run.status == 0 else { throw TestFailure("identity ticket-keys --out \(file) exited \(run.status): \(run.stderr)") }
        }
        try body(folder, file)
    }

    @Test("--out FILE --keys N: exit 0, mode 0600, N distinct keys the gateway's parser reads", arguments: [1, 2, 16])
    func writesKeyFile(count: Int) throws {
        try Self.inFolder("ticket-keys") { dir, _ in
            let file = dir + "/keys/ticket-keys"
            let run = try Self.meshgate(["--out", file, "--keys", "\(count)"])
            #expect(run.status == 0 && run.stderr.isEmpty, "\(run.stderr)")
            #expect(run.stdout.hasPrefix("wrote \(file): \(count) new key"), "\(run.stdout)")
            #expect(try Self.mode(file) == 0o600)
            try Self.expectKeyFile(file, count: count)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir + "/keys")
            #expect(leftovers == ["ticket-keys"], "temporary files left: \(leftovers)")
        }
    }

    @Test("without --out: the keys on standard output (default 2), fresh each run")
    func printsToStandardOutput() throws {
        try Self.inFolder("ticket-keys-stdout") { dir, _ in
            var seen = Set<String>()
            for run in 1...2 {
                let printed = try Self.meshgate([])
                #expect(printed.status == 0 && printed.stderr.isEmpty, "\(printed.stderr)")
                let file = dir + "/printed-\(run)"
                try printed.stdout.write(toFile: file, atomically: true, encoding: .utf8)
                seen.formUnion(try Self.expectKeyFile(file, count: 2))
            }
            #expect(seen.count == 4)
        }
    }

    @Test("an existing file without --rotate: exit 2, one line naming the file, the file untouched")
    func refusesOverwrite() throws {
        try Self.inFolder("ticket-keys-overwrite", made: true) { _, file in
            let before = try Self.lines(file)
            let again = try Self.meshgate(["--out", file, "--keys", "3"])
            #expect(again.status == 2)
            #expect(
                again.stderr
                    == "meshgate: error: \(file) exists; refusing to overwrite it (use --rotate to put a new key in front of its keys)\n",
                "\(again.stderr)")
            #expect(try Self.lines(file) == before)
        }
    }

    @Test("--rotate: a new key first, the existing keys after it in order, the oldest dropped beyond --keys, mode 0600")
    func rotatePutsNewKeyFirst() throws {
        try Self.inFolder("ticket-keys-rotate", made: true) { _, file in
            let original = try Self.lines(file)
            chmod(file, 0o644)

            let grown = try Self.meshgate(["--out", file, "--rotate", "--keys", "3"])
            #expect(grown.status == 0 && grown.stdout.hasPrefix("wrote \(file): a new key and 2 kept"), "\(grown.stdout)\(grown.stderr)")
            let afterGrow = try Self.expectKeyFile(file, count: 3)
            #expect(!original.contains(afterGrow[0]) && Array(afterGrow.dropFirst()) == original)
            #expect(try Self.mode(file) == 0o600)

            let rotated = try Self.meshgate(["--out", file, "--rotate"])
            #expect(rotated.status == 0, "\(rotated.stderr)")
            let afterRotate = try Self.expectKeyFile(file, count: 2)
            #expect(!afterGrow.contains(afterRotate[0]) && afterRotate[1] == afterGrow[0])
        }
    }

    @Test("--rotate reads a hand-written file (comment, blank line, spaces): its key kept after the new one")
    func rotateReadsHandWrittenFile() throws {
        try Self.inFolder("ticket-keys-hand") { _, file in
            let old = TLSTicketKeysFlagTests.validLine
            try "# shared by the replicas\n\n  \(old)  \n".write(toFile: file, atomically: true, encoding: .utf8)
            let run = try Self.meshgate(["--out", file, "--rotate", "--keys", "4"])
            #expect(run.status == 0, "\(run.stderr)")
            let lines = try Self.expectKeyFile(file, count: 2)
            #expect(lines[1] == old && lines[0] != old)
        }
    }

    @Test(
        "bad flags or a bad existing file: exit 2, one line naming the flag (and file and line), nothing written",
        arguments: [
            (["--keys", "0"], "--keys 0: must be from 1 to 16"),
            (["--keys", "17"], "--keys 17: must be from 1 to 16"),
            (["--rotate"], "--rotate needs --out (the key file to rotate)"),
            (["--rotate", "--out", "FILE.missing"], "--rotate: FILE.missing does not exist (create it without --rotate)"),
            (["--rotate", "--out", "FILE"], "--rotate: FILE:3: not a base64 session ticket key"),
        ])
    func refusals(arguments: [String], expected: String) throws {
        try Self.inFolder("ticket-keys-bad") { dir, file in
            let text = "# keys\n\(TLSTicketKeysFlagTests.validLine)\nnot base64!\n"
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            let run = try Self.meshgate(arguments.map { $0.replacingOccurrences(of: "FILE", with: file) })
            #expect(run.status == 2)
            #expect(run.stderr == "meshgate: error: \(expected.replacingOccurrences(of: "FILE", with: file))\n", "\(run.stderr)")
            #expect(run.stdout.isEmpty)
            #expect(try String(contentsOfFile: file, encoding: .utf8) == text)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["ticket-keys"])
        }
    }
}
