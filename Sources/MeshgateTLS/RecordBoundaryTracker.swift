/// Follows the TLS record framing of the inbound byte stream (5-byte headers, then bodies), so
/// that a switch to kTLS can first complete a partial last record from the socket.
struct RecordBoundaryTracker {
    /// Header bytes of the current record seen so far (0 at a boundary or inside a body).
    private var headerFill = 0
    /// The high byte of the body length, once header byte 3 has been seen.
    private var lengthHigh = 0
    /// Body bytes of the current record still to come.
    private var bodyRemaining = 0
    /// Complete records seen.
    private(set) var completeRecords: UInt64 = 0

    /// Bytes still missing from the last record: the rest of its body, or of its header (the
    /// body length is then unknown: read that many, then ask again). 0 at a record boundary.
    var shortfall: Int { headerFill > 0 ? 5 - headerFill : bodyRemaining }

    /// Advances over received bytes.
    mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        var index = 0
        while index < bytes.count {
            if bodyRemaining > 0 {
                let step = min(bodyRemaining, bytes.count - index)
                bodyRemaining -= step
                index += step
                if bodyRemaining == 0 { completeRecords += 1 }
                continue
            }
            let byte = Int(bytes[index])
            index += 1
            headerFill += 1
            if headerFill == 4 { lengthHigh = byte }
            if headerFill == 5 {
                headerFill = 0
                bodyRemaining = lengthHigh << 8 | byte
                if bodyRemaining == 0 { completeRecords += 1 }
            }
        }
    }
}
