import Foundation

/// The session ticket key file a gateway's replicas share (docs/tls.md, "Session ticket keys"):
///
///     # comment lines and blank lines are ignored
///     <base64 of 80 bytes: name 16 | HMAC-SHA256 key 32 | AES-256 key 32>   ← encrypts new tickets
///     <base64 of an older key>                                              ← still decrypts
///
/// One key per line, standard base64 (one line, padding included). `meshgate identity
/// ticket-keys` makes and rotates such a file; ``keyFileLine(_:)`` writes one line.
extension TLSTicketKeys {
    /// A fixed ring read from the key file at `path`: its first key encrypts, all decrypt.
    /// Errors name the file and, for a bad key, the line.
    public convenience init(contentsOfFile path: String) throws(TLSError) {
        try self.init(keys: Self.keys(inFile: path), origin: path)
    }

    /// The keys of the key file at `path`, in order (at least one, no two of one name).
    /// Errors name the file and, for a bad key, the line.
    public static func keys(inFile path: String) throws(TLSError) -> [TLSTicketKey] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? "\(error.localizedDescription)"
            throw TLSError(.fileUnreadable, "cannot read session ticket key file \(path): \(reason)")
        }
        return try parseKeyFile(text, path: path)
    }

    /// The keys of key file text, in order; `path` names the file in errors.
    static func parseKeyFile(_ text: String, path: String) throws(TLSError) -> [TLSTicketKey] {
        var keys: [TLSTicketKey] = []
        var lines: [Int: TLSTicketKey] = [:]
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let number = index + 1
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let data = Data(base64Encoded: line) else {
                throw TLSError(.invalidConfiguration, "\(path):\(number): not a base64 session ticket key")
            }
            guard let key = TLSTicketKey(encoded: Array(data)) else {
                throw TLSError(
                    .invalidConfiguration,
                    "\(path):\(number): a session ticket key is \(TLSTicketKey.encodedLength) bytes (name 16 | HMAC 32 | AES 32), this one \(data.count)"
                )
            }
            if let first = lines.first(where: { $0.value.name == key.name })?.key {
                throw TLSError(.invalidConfiguration, "\(path):\(number): the key name \(key.nameHex) is already used on line \(first)")
            }
            lines[number] = key
            keys.append(key)
        }
        guard !keys.isEmpty else {
            throw TLSError(
                .invalidConfiguration,
                "\(path): holds no session ticket key (one base64 line of \(TLSTicketKey.encodedLength) bytes per key)")
        }
        return keys
    }

    /// `key` as one line of a key file (base64, no newline).
    public static func keyFileLine(_ key: TLSTicketKey) -> String {
        Data(key.encoded).base64EncodedString()
    }
}
