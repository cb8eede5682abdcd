/// The label selector grammar (a small hand-written lexer/parser over bytes).
struct KubeSelectorParser {
    private let text: String
    private let bytes: [UInt8]
    private var i = 0

    init(_ text: String) {
        self.text = text
        self.bytes = Array(text.utf8)
    }

    mutating func parse() throws(KubeSelectorError) -> [KubeLabelSelector.Requirement] {
        var result: [KubeLabelSelector.Requirement] = []
        skipSpaces()
        if i == bytes.count { return [] }
        while true {
            result.append(try requirement())
            skipSpaces()
            if i == bytes.count { return result }
            guard bytes[i] == UInt8(ascii: ",") else { throw fail("expected \",\" or the end") }
            i += 1
            skipSpaces()
        }
    }

    private mutating func requirement() throws(KubeSelectorError) -> KubeLabelSelector.Requirement {
        if peek("!") {
            i += 1
            skipSpaces()
            let key = try self.key()
            return .init(key: key, op: .doesNotExist, values: [])
        }
        let key = try self.key()
        skipSpaces()
        if i == bytes.count || bytes[i] == UInt8(ascii: ",") {
            return .init(key: key, op: .exists, values: [])
        }
        if peek("==") {
            i += 2
            return .init(key: key, op: .equals, values: [try value()])
        }
        if peek("!=") {
            i += 2
            return .init(key: key, op: .notEquals, values: [try value()])
        }
        if peek("=") {
            i += 1
            return .init(key: key, op: .equals, values: [try value()])
        }
        let start = i
        let word = identifier()
        switch word {
        case "in": return .init(key: key, op: .in, values: try set())
        case "notin": return .init(key: key, op: .notIn, values: try set())
        default:
            i = start
            throw fail("expected \"=\", \"==\", \"!=\", \"in\" or \"notin\"")
        }
    }

    private mutating func set() throws(KubeSelectorError) -> [String] {
        skipSpaces()
        guard peek("(") else { throw fail("expected \"(\"") }
        i += 1
        var values: Set<String> = []
        skipSpaces()
        if peek(")") {
            throw fail("a set needs at least one value")
        }
        while true {
            values.insert(try value())
            skipSpaces()
            if peek(")") {
                i += 1
                return values.sorted()
            }
            guard peek(",") else { throw fail("expected \",\" or \")\"") }
            i += 1
        }
    }

    private mutating func key() throws(KubeSelectorError) -> String {
        let start = i
        let word = identifier()
        guard !word.isEmpty else { throw fail("expected a label key") }
        if let problem = KubeLabelSyntax.keyProblem(word) {
            i = start
            throw fail("invalid key \"\(word)\": \(problem)")
        }
        return word
    }

    private mutating func value() throws(KubeSelectorError) -> String {
        skipSpaces()
        let start = i
        let word = identifier()
        if let problem = KubeLabelSyntax.valueProblem(word) {
            i = start
            throw fail("invalid value \"\(word)\": \(problem)")
        }
        return word
    }

    /// Characters up to a space, ",", "=", "!", "(", ")".
    private mutating func identifier() -> String {
        let start = i
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: ","), UInt8(ascii: "="), UInt8(ascii: "!"),
                UInt8(ascii: "("), UInt8(ascii: ")"):
                return String(decoding: bytes[start..<i], as: UTF8.self)
            default: i += 1
            }
        }
        return String(decoding: bytes[start..<i], as: UTF8.self)
    }

    private mutating func skipSpaces() {
        while i < bytes.count, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t") { i += 1 }
    }

    private func peek(_ s: String) -> Bool {
        let want = Array(s.utf8)
        guard i + want.count <= bytes.count else { return false }
        return bytes[i..<(i + want.count)].elementsEqual(want)
    }

    private func fail(_ what: String) -> KubeSelectorError {
        KubeSelectorError(message: "invalid label selector \"\(text)\": \(what) at \(i + 1)")
    }
}

/// Label key and value syntax (Kubernetes' qualified names and label values).
enum KubeLabelSyntax {
    /// Why `key` is not a label key (`[prefix/]name`), or nil.
    static func keyProblem(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return "at most one \"/\"" }
        let name = String(parts.last!)
        if parts.count == 2 {
            let prefix = String(parts[0])
            if prefix.isEmpty { return "empty prefix" }
            if prefix.utf8.count > 253 { return "prefix longer than 253 characters" }
            for label in prefix.split(separator: ".", omittingEmptySubsequences: false) {
                let b = Array(label.utf8)
                guard !b.isEmpty, b.count <= 63, b.allSatisfy({ isLowerAlnum($0) || $0 == UInt8(ascii: "-") }),
                    isLowerAlnum(b.first!), isLowerAlnum(b.last!)
                else { return "prefix must be a DNS subdomain (lower case letters, digits, \"-\", \".\")" }
            }
        }
        if name.isEmpty { return "empty name" }
        return nameProblem(name)
    }

    /// Why `value` is not a label value ("" is valid), or nil.
    static func valueProblem(_ value: String) -> String? {
        value.isEmpty ? nil : nameProblem(value)
    }

    private static func nameProblem(_ name: String) -> String? {
        let b = Array(name.utf8)
        if b.count > 63 { return "longer than 63 characters" }
        guard
            b.allSatisfy({
                isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
            }), isAlnum(b.first!), isAlnum(b.last!)
        else { return "letters, digits, \"-\", \"_\", \".\" only, starting and ending with a letter or digit" }
        return nil
    }

    private static func isLowerAlnum(_ c: UInt8) -> Bool {
        (c >= 97 && c <= 122) || (c >= 48 && c <= 57)
    }

    private static func isAlnum(_ c: UInt8) -> Bool {
        isLowerAlnum(c) || (c >= 65 && c <= 90)
    }
}
