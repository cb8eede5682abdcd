import Foundation
import Testing

@testable import MeshgateTLS

@Suite("Configuration errors name their files")
struct ConfigurationErrorTests {
    let pki = TestPKI.shared

    private func error(_ build: (inout TLSConfiguration) -> Void) -> TLSError? {
        var configuration = pki.configuration(.server, leaf: "server")
        build(&configuration)
        do {
            _ = try TLSContext(configuration: configuration)
            return nil
        } catch {
            return error
        }
    }

    @Test("a key that does not belong to the certificate is a key mismatch naming both files")
    func keyMismatch() throws {
        let key = pki.path("client.key")
        let failure = try #require(error { $0.privateKeyPath = key })
        #expect(failure.code == .keyMismatch)
        #expect(failure.message.contains(key) && failure.message.contains(pki.path("server.pem")))
    }

    @Test("unreadable certificate, key and bundle files are reported with their paths")
    func unreadableFiles() throws {
        let missing = pki.path("does-not-exist.pem")
        for adjust: (inout TLSConfiguration) -> Void in [
            { $0.certificateChainPath = missing }, { $0.privateKeyPath = missing }, { $0.trustBundlePath = missing },
        ] {
            let failure = try #require(error(adjust))
            #expect(failure.code == .fileUnreadable)
            #expect(failure.message.contains(missing))
            #expect(failure.message.contains("No such file"))
        }
    }

    @Test("a file without PEM certificates is invalid PEM")
    func invalidPEM() throws {
        let junk = pki.path("junk.pem")
        try "not a certificate\n".write(toFile: junk, atomically: true, encoding: .utf8)
        let failure = try #require(error { $0.trustBundlePath = junk })
        #expect(failure.code == .invalidPEM)
        #expect(failure.message.contains(junk))
    }

    @Test("a client connection needs the expected server identity")
    func clientWithoutExpectation() throws {
        #expect(throws: TLSError.self) { try TLSConnection(context: pki.clientContext()) }
    }
}
