import Foundation
import MeshgateNames

extension CertificateSummary {
    /// `CA (trust anchor, self-signed)`, `CA (path length 0)`, `CA` or `leaf`.
    public var kind: String {
        guard isCA else { return "leaf" }
        if isSelfSigned { return "CA (trust anchor, self-signed)" }
        if let pathLength { return "CA (path length \(pathLength))" }
        return "CA"
    }

    /// `expires in 23h59m`, `EXPIRED 2h ago` or `NOT YET VALID (starts in 5m)`.
    public var timeLeft: String {
        switch status {
        case .valid: return "expires in \(DurationText.format(seconds: secondsLeft))"
        case .expired: return "EXPIRED \(DurationText.format(seconds: secondsLeft)) ago"
        case .notYetValid: return "NOT YET VALID (valid from \(ValidityWindow.describe(notBefore)))"
        }
    }

    /// A few indented lines for a terminal; identity names are marked `[meshgate identity]`.
    public var text: String {
        var lines = [
            "  subject:  \(subject)",
            "  issuer:   \(issuer)",
            "  kind:     \(kind)",
            "  key:      \(keyType)",
            "  serial:   \(serialNumber)",
            "  valid:    \(ValidityWindow.describe(notBefore)) to \(ValidityWindow.describe(notAfter)), \(timeLeft)",
        ]
        for (index, name) in names.enumerated() {
            let label = index == 0 ? "  names:    " : "            "
            let mark = name.identity != nil ? "  [meshgate identity]" : ""
            lines.append("\(label)\(name.type):\(name.value)\(mark)")
        }
        if let identity { lines.append("  identity: \(identity)") }
        return lines.joined(separator: "\n")
    }

    /// The summaries as a JSON array (sorted keys, ISO 8601 dates, pretty-printed).
    public static func json(_ summaries: [CertificateSummary]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        guard let data = try? encoder.encode(summaries) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }
}
