import Crypto
import Foundation

extension LinkBundle {
    /// What replacing `old` with this bundle changes, one line per change (empty: nothing):
    /// gateway addresses added and removed, the identity, anchors added and removed (by the
    /// first 16 hex digits of their SHA-256). `meshgate link add` prints them.
    public func changes(from old: LinkBundle) -> [String] {
        var lines: [String] = []
        let added = gateways.filter { !old.gateways.contains($0) }
        let removed = old.gateways.filter { !gateways.contains($0) }
        if !added.isEmpty { lines.append("gateways: + \(added.map(\.description).joined(separator: ", "))") }
        if !removed.isEmpty { lines.append("gateways: - \(removed.map(\.description).joined(separator: ", "))") }
        if added.isEmpty && removed.isEmpty && gateways != old.gateways {
            lines.append("gateways: order \(old.gateways.map(\.description).joined(separator: ", ")) → \(gateways.map(\.description).joined(separator: ", "))")
        }
        if identity != old.identity { lines.append("identity: \(old.identity) → \(identity)") }
        let newAnchors = anchors.filter { !old.anchors.contains($0) }.map(Self.fingerprint)
        let oldAnchors = old.anchors.filter { !anchors.contains($0) }.map(Self.fingerprint)
        if !newAnchors.isEmpty { lines.append("anchors: + \(newAnchors.joined(separator: ", "))") }
        if !oldAnchors.isEmpty { lines.append("anchors: - \(oldAnchors.joined(separator: ", "))") }
        return lines
    }

    /// `sha256:<first 16 hex digits>` of a DER certificate.
    static func fingerprint(_ der: Data) -> String {
        "sha256:" + SHA256.hash(data: der).prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}
