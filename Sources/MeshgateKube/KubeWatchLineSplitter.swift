/// Splits a watch response body into lines: one JSON event a line; a line may arrive in several
/// chunks and a chunk may hold several lines. Empty lines are skipped; a trailing "\r" is dropped.
struct KubeWatchLineSplitter {
    /// The longest line accepted (an event carrying one object).
    var maxLine: Int
    private var pending: [UInt8] = []

    init(maxLine: Int = 16 << 20) {
        self.maxLine = maxLine
    }

    /// Adds a chunk; returns the lines it completes. Throws when a line grows past `maxLine`.
    mutating func append(_ chunk: some Sequence<UInt8>) throws(KubeError) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        for byte in chunk {
            if byte == UInt8(ascii: "\n") {
                if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
                if !pending.isEmpty { lines.append(pending) }
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
                if pending.count > maxLine {
                    pending = []
                    throw KubeError(code: nil, reason: "Decoding", message: "watch event longer than \(maxLine) bytes")
                }
            }
        }
        return lines
    }

    /// What is left at the end of the stream (a last line without "\n"), if anything.
    mutating func finish() -> [UInt8]? {
        defer { pending = [] }
        return pending.isEmpty ? nil : pending
    }
}
