import Foundation
import MeshgateIdentity
import Testing

@Suite("Writing identity folders", .serialized)
struct IdentityFilesTests {
    private func mode(_ path: String) -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { return -1 }
        return Int(info.st_mode & 0o7777)
    }

    /// Runs `body` with a new folder holding west's gateway leaf `first` (written without force).
    private func withWrittenLeaf(_ body: (_ folder: String, _ pki: Fixtures.PKI, _ first: LeafIdentity) throws -> Void) throws {
        try Fixtures.withPKI { folder, pki in
            let first = try LeafIdentity.issueGateway(issuer: pki.west, now: Fixtures.now)
            try IdentityFiles.write(first.files, into: folder, force: false)
            try body(folder, pki, first)
        }
    }

    @Test("keys are 0600, certificates 0644, missing folders are created 0755")
    func modes() throws {
        let folder = Fixtures.makeFolder()
        defer { Fixtures.removeFolder(folder) }
        let previous = umask(0o022)
        defer { umask(previous) }
        let pki = try Fixtures.PKI()
        let target = folder + "/deep/er/issuer"
        try IdentityFiles.write(pki.west.files, into: target, force: false)
        #expect(mode(target + "/issuer.key") == 0o600)
        #expect(mode(target + "/issuer.crt") == 0o644)
        #expect(mode(target + "/ca.crt") == 0o644)
        #expect(mode(folder + "/deep") == 0o755)
        #expect(mode(target) == 0o755)
        // No temporary files stay behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: target).sorted()
        #expect(names == ["ca.crt", "issuer.crt", "issuer.key"])
    }

    @Test("the key stays 0600 even under a permissive umask")
    func keyModeUnderZeroUmask() throws {
        try Fixtures.withFolder { folder in
            let previous = umask(0)
            defer { umask(previous) }
            let anchor = try TrustAnchor.create(trustDomain: "cluster.local", now: Fixtures.now)
            try IdentityFiles.write(anchor.files, into: folder, force: false)
            #expect(mode(folder + "/anchor.key") == 0o600)
        }
    }

    @Test("existing files are kept without force: error names the file, nothing is written")
    func refusesOverwrite() throws {
        try withWrittenLeaf { folder, pki, first in
            // Only tls.crt exists in a second folder: the error names it and ca.crt/tls.key are not written.
            let partial = folder + "/partial"
            try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: false)
            #expect(FileManager.default.createFile(atPath: partial + "/tls.crt", contents: Data("old".utf8)))

            let second = try LeafIdentity.issueGateway(issuer: pki.west, now: Fixtures.now)
            let error = #expect(throws: IdentityError.self) { try IdentityFiles.write(second.files, into: folder, force: false) }
            #expect(error?.code == .fileExists)
            #expect(error?.message.contains(folder + "/ca.crt") == true)
            #expect(try String(contentsOfFile: folder + "/tls.crt", encoding: .utf8) == first.pemCertificate)

            let partialError = #expect(throws: IdentityError.self) { try IdentityFiles.write(second.files, into: partial, force: false) }
            #expect(partialError?.path == partial + "/tls.crt")
            #expect(!FileManager.default.fileExists(atPath: partial + "/tls.key"))
        }
    }

    @Test("force replaces every file (rotation), key still 0600")
    func forceReplaces() throws {
        try withWrittenLeaf { folder, pki, first in
            chmod(folder + "/tls.key", 0o644)  // someone loosened it; the replacement is a new file
            let second = try LeafIdentity.issueGateway(issuer: pki.west, now: Fixtures.now.addingTimeInterval(3_600))
            try IdentityFiles.write(second.files, into: folder, force: true)
            #expect(try String(contentsOfFile: folder + "/tls.crt", encoding: .utf8) == second.pemCertificate)
            #expect(try String(contentsOfFile: folder + "/tls.key", encoding: .utf8) == second.pemPrivateKey)
            #expect(second.pemPrivateKey != first.pemPrivateKey)
            #expect(mode(folder + "/tls.key") == 0o600)
        }
    }

    @Test("a replaced file is a new inode: a reader holding the old one still reads it whole")
    func atomicReplace() throws {
        try withWrittenLeaf { folder, pki, first in
            let reader = try #require(FileHandle(forReadingAtPath: folder + "/tls.crt"))
            defer { try? reader.close() }
            let second = try LeafIdentity.issueGateway(issuer: pki.west, now: Fixtures.now)
            try IdentityFiles.write(second.files, into: folder, force: true)
            let old = String(decoding: reader.readDataToEndOfFile(), as: UTF8.self)
            #expect(old == first.pemCertificate)
            #expect(try String(contentsOfFile: folder + "/tls.crt", encoding: .utf8) == second.pemCertificate)
        }
    }

    @Test("an output path that is a file is refused, naming it")
    func outIsAFile() throws {
        try Fixtures.withFolder { folder in
            #expect(FileManager.default.createFile(atPath: folder + "/plain", contents: Data()))
            let anchor = try TrustAnchor.create(trustDomain: "cluster.local", now: Fixtures.now)
            let error = #expect(throws: IdentityError.self) { try IdentityFiles.write(anchor.files, into: folder + "/plain", force: false) }
            #expect(error?.code == .writeFailed)
            #expect(error?.message.contains(folder + "/plain") == true)
        }
    }
}
