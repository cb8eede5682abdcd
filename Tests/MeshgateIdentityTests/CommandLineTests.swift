import Foundation
import MeshgateIdentity
import Testing

/// The `meshgate identity` subcommands through the built binary; runs when `MESHGATE_BIN` names it.
@Suite(
    "meshgate identity on the command line",
    .enabled(if: ProcessInfo.processInfo.environment["MESHGATE_BIN"].map { !$0.isEmpty } ?? false))
struct CommandLineTests {
    let binary = ProcessInfo.processInfo.environment["MESHGATE_BIN"] ?? ""

    private func meshgate(_ arguments: String...) throws -> Subprocess.Result {
        try Subprocess.run(binary, ["identity"] + arguments)
    }

    @Test("init, issuer, issue --gateway, inspect: exit 0 and the files a gateway needs")
    func fullRun() throws {
        let dir = Fixtures.makeFolder()
        defer { Fixtures.removeFolder(dir) }
        #expect(try meshgate("init", "--trust-domain", "cluster.local", "--out", dir + "/anchor").status == 0)
        #expect(try meshgate("issuer", "--anchor", dir + "/anchor", "--cluster", "west", "--out", dir + "/west").status == 0)
        let issue = try meshgate("issue", "--issuer", dir + "/west", "--gateway", "--out", dir + "/gw")
        #expect(issue.status == 0, "\(issue.output)")
        #expect(issue.output.contains("spiffe://cluster.local/ns/meshgate-west/sa/gateway"))
        let inspect = try meshgate("inspect", dir + "/gw/tls.crt")
        #expect(inspect.status == 0)
        #expect(inspect.output.contains("certificate 2 of 2"))
        #expect(inspect.output.contains("expires in 23h5"))
        let json = try meshgate("inspect", "--json", dir + "/gw/tls.crt")
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let summaries = try decoder.decode([CertificateSummary].self, from: Data(json.output.utf8))
        #expect(summaries.first?.identity == "spiffe://cluster.local/ns/meshgate-west/sa/gateway")
    }

    @Test("a second issue without --force exits 2 naming the file; with --force it rotates")
    func overwrite() throws {
        let dir = Fixtures.makeFolder()
        defer { Fixtures.removeFolder(dir) }
        _ = try meshgate("init", "--trust-domain", "cluster.local", "--out", dir + "/anchor")
        _ = try meshgate("issuer", "--anchor", dir + "/anchor", "--cluster", "east", "--out", dir + "/east")
        _ = try meshgate("issue", "--issuer", dir + "/east", "--namespace", "shop", "--name", "web", "--out", dir + "/web")
        let before = try String(contentsOfFile: dir + "/web/tls.crt", encoding: .utf8)
        let again = try meshgate("issue", "--issuer", dir + "/east", "--namespace", "shop", "--name", "web", "--out", dir + "/web")
        #expect(again.status == 2)
        #expect(again.output == "meshgate: error: \(dir)/web/ca.crt exists; refusing to overwrite it (use --force to replace)\n")
        let forced = try meshgate(
            "issue", "--issuer", dir + "/east", "--namespace", "shop", "--name", "web", "--out", dir + "/web", "--force")
        #expect(forced.status == 0)
        #expect(try String(contentsOfFile: dir + "/web/tls.crt", encoding: .utf8) != before)
    }

    @Test("asking past the issuer's end is clamped with a note on stderr")
    func clampNote() throws {
        let dir = Fixtures.makeFolder()
        defer { Fixtures.removeFolder(dir) }
        _ = try meshgate("init", "--trust-domain", "cluster.local", "--out", dir + "/anchor")
        _ = try meshgate("issuer", "--anchor", dir + "/anchor", "--cluster", "west", "--out", dir + "/west", "--valid", "48h")
        let issue = try meshgate("issue", "--issuer", dir + "/west", "--gateway", "--out", dir + "/gw", "--valid", "30d")
        #expect(issue.status == 0)
        #expect(issue.output.contains("meshgate: note: the validity asked for"))
    }

    @Test("bad flags and files exit 2 with one line naming them", arguments: [
        (["init", "--trust-domain", "Bad_Domain", "--out", "/tmp/x"], "--trust-domain 'Bad_Domain'"),
        (["init", "--trust-domain", "cluster.local", "--out", "/tmp/x", "--valid", "ten years"], "--valid 'ten years'"),
        (["issuer", "--anchor", "/nonexistent", "--cluster", "west", "--out", "/tmp/x"], "/nonexistent/anchor.crt"),
        (["issuer", "--anchor", "/tmp", "--cluster", "us.west", "--out", "/tmp/x"], "--cluster 'us.west'"),
        (["issue", "--issuer", "/tmp", "--gateway", "--name", "x", "--out", "/tmp/x"], "--name cannot be combined with --gateway"),
        (["issue", "--issuer", "/tmp", "--out", "/tmp/x"], "--namespace is required"),
        (["inspect", "/nonexistent.crt"], "/nonexistent.crt"),
        (["inspect", "/etc/passwd"], "/etc/passwd: no certificate in the file"),
    ])
    func badInput(_ arguments: [String], _ named: String) throws {
        let result = try Subprocess.run(binary, ["identity"] + arguments)
        #expect(result.status == 2, "\(result.output)")
        #expect(result.output.hasPrefix("meshgate: error: "))
        #expect(result.output.contains(named), "\(result.output)")
        #expect(result.output.split(separator: "\n").count == 1, "\(result.output)")
    }
}
