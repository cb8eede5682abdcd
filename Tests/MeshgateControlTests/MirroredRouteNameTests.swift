import Foundation
import Testing

@testable import MeshgateControl
import MeshgateTestKit

/// `MirroredRouteName.of(service:cluster:)`: `<name>-<cluster>`, shortened past 63 characters to
/// 54 characters (no trailing `-`), `-`, and 8 hex digits of the SHA-256 of the whole name. The
/// hash is computed here independently, with the `openssl dgst` command line.
@Suite struct MirroredRouteNameTests {
    /// SHA-256 of `text` as lowercase hex, from `openssl dgst -sha256`.
    static func opensslSHA256(_ text: String) throws -> String {
        let run = try ChildProcess.run(
            ["/bin/bash", "-c", "printf %s \"$1\" | openssl dgst -sha256 -r", "sha256", text], timeout: 60)
        #expect(run.status == 0, "openssl dgst failed")
        let line = run.stdout
        let hex = String(line.prefix(while: { $0.isHexDigit }))
        #expect(hex.count == 64, "openssl printed '\(line)'")
        return hex.lowercased()
    }

    /// A DNS label: 1–63 of [a-z0-9-], no leading or trailing '-'.
    static func isDNSLabel(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 63, !s.hasPrefix("-"), !s.hasSuffix("-") else { return false }
        return s.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d }
    }

    @Test("a short name is <name>-<cluster>, unchanged")
    func shortNameUnchanged() {
        #expect(MirroredRouteName.of(service: "redis", cluster: "west") == "redis-west")
        #expect(MirroredRouteName.of(service: "a", cluster: "b") == "a-b")
        #expect(MirroredRouteName.of(service: "my-svc-2", cluster: "eu-west-1") == "my-svc-2-eu-west-1")
    }

    @Test("exactly 63 characters is left alone; 64 is shortened")
    func boundaryAtSixtyThree() throws {
        let cluster = "west"
        let name63 = String(repeating: "n", count: 63 - 1 - cluster.count)
        let full63 = "\(name63)-\(cluster)"
        #expect(full63.count == 63)
        #expect(MirroredRouteName.of(service: name63, cluster: cluster) == full63)

        let name64 = name63 + "x"
        let full64 = "\(name64)-\(cluster)"
        #expect(full64.count == 64)
        let short = MirroredRouteName.of(service: name64, cluster: cluster)
        #expect(short != full64)
        #expect(short.count <= 63)
        let hex = try Self.opensslSHA256(full64)
        #expect(short == String(full64.prefix(54)) + "-" + hex.prefix(8))
    }

    @Test("a long name is shortened to ≤ 63 characters: 54-character head, '-', first 8 hex digits of SHA-256(full)")
    func longNameShortened() throws {
        let name = "payments-reconciliation-worker-with-a-really-quite-long-name"
        let cluster = "production-eu-central"
        let full = "\(name)-\(cluster)"
        #expect(full.count > 63)
        let short = MirroredRouteName.of(service: name, cluster: cluster)
        #expect(short.count <= MirroredRouteName.maxLength)
        #expect(short.count == 63, "a head without trailing '-' is 54 characters: \(short)")
        #expect(Self.isDNSLabel(short), "\(short)")
        #expect(!short.contains("--"), "\(short)")

        let hex = try Self.opensslSHA256(full)
        let suffix = String(short.suffix(9))
        #expect(suffix == "-" + hex.prefix(8), "expected suffix -\(hex.prefix(8)), got \(suffix)")
        #expect(suffix.dropFirst().allSatisfy { "0123456789abcdef".contains($0) })
        let head = String(short.dropLast(9))
        #expect(full.hasPrefix(head), "the head is a prefix of the full name")
        #expect(head == String(full.prefix(54)))

        // Deterministic: same input, same output; another cluster, another name.
        #expect(MirroredRouteName.of(service: name, cluster: cluster) == short)
        let other = MirroredRouteName.of(service: name, cluster: "production-eu-centra1")
        #expect(other != short)
        #expect(other.count <= 63)
    }

    @Test("a head ending in '-' loses its dashes: no '--' before the suffix, still a DNS label")
    func trailingDashesDropped() throws {
        // The documentation's example: the first 54 characters end with '-'.
        let name = "a-very-long-service-name-that-goes-on-and-on-for-ever-and-ever"
        let full = "\(name)-west"
        #expect(String(full.prefix(54)).hasSuffix("-"))
        let short = MirroredRouteName.of(service: name, cluster: "west")
        let hex = try Self.opensslSHA256(full)
        #expect(short == "a-very-long-service-name-that-goes-on-and-on-for-ever-" + hex.prefix(8))
        #expect(!short.contains("--"), "\(short)")
        #expect(Self.isDNSLabel(short), "\(short)")
        #expect(short.count < 63)

        // Several dashes at the cut (labels may hold "--"): all of them go.
        let dashy = String(repeating: "b", count: 50) + "----" + String(repeating: "c", count: 9)
        #expect(Self.isDNSLabel(dashy), "a service name is a DNS label")
        let fullDashy = "\(dashy)-east"
        #expect(String(fullDashy.prefix(54)).hasSuffix("----"))
        let shortDashy = MirroredRouteName.of(service: dashy, cluster: "east")
        let hexDashy = try Self.opensslSHA256(fullDashy)
        #expect(shortDashy == String(repeating: "b", count: 50) + "-" + hexDashy.prefix(8))
        #expect(Self.isDNSLabel(shortDashy), "\(shortDashy)")
        #expect(!shortDashy.contains("--"), "\(shortDashy)")
    }

    @Test("every long input gives a DNS label of at most 63 characters whose suffix is the hash", arguments: [65, 70, 100, 127])
    func manyLengths(length: Int) throws {
        // Names of 63 characters with dashes at varying places; cluster fills the rest.
        let alphabet = Array("abc-def0-12")
        let name = String((0..<63).map { i in i == 0 || i == 62 ? "s" : alphabet[(i * 7 + length) % alphabet.count] })
        let clusterLength = length - 64
        let cluster = String((0..<clusterLength).map { i in i == 0 || i == clusterLength - 1 ? "k" : alphabet[(i * 3) % alphabet.count] })
        let full = "\(name)-\(cluster)"
        #expect(full.count == length)
        let short = MirroredRouteName.of(service: name, cluster: cluster)
        #expect(short.count <= 63)
        #expect(Self.isDNSLabel(short), "\(short)")
        let hex = try Self.opensslSHA256(full)
        #expect(short.hasSuffix("-" + hex.prefix(8)), "\(short) vs \(hex)")
        let head = String(short.dropLast(9))
        #expect(!head.hasSuffix("-"))
        #expect(full.hasPrefix(head))
    }
}
