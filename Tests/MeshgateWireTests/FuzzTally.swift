/// What a decoder fuzz loop saw: the first invariant violations and how many inputs decoded to
/// each outcome (0 complete, 1 needs more bytes, 2 invalid).
struct FuzzTally {
    /// Violations, as `bytes: what went wrong`.
    private(set) var failures: [String] = []
    /// Inputs per outcome: complete, needMoreBytes, invalid.
    private(set) var outcomes = [0, 0, 0]

    /// Three failures are enough to see the problem: the loop stops there.
    var isFull: Bool { failures.count >= 3 }

    /// Notes `bytes`' invariant `violation`, if any, and counts its decoding `outcome` (0...2).
    mutating func record(_ bytes: [UInt8], violation: String?, outcome: Int) {
        if let violation { failures.append("\(bytes): \(violation)") }
        outcomes[outcome] += 1
    }
}
