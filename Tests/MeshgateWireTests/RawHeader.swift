/// Builds header bytes field by field, valid or not, for tests that need exact wire contents.
struct RawHeader {
    var magic: [UInt8] = Array("MGWH".utf8)
    var version: UInt8 = 1
    var kind: UInt8
    var fields: [(tag: UInt8, value: [UInt8])] = []
    /// Written instead of the real body length when set.
    var bodyLength: Int?

    init(kind: UInt8, _ fields: [(tag: UInt8, value: [UInt8])] = []) {
        self.kind = kind
        self.fields = fields
    }

    var bytes: [UInt8] {
        var body: [UInt8] = []
        for field in fields {
            body.append(field.tag)
            body.append(UInt8(truncatingIfNeeded: field.value.count >> 8))
            body.append(UInt8(truncatingIfNeeded: field.value.count))
            body += field.value
        }
        let length = bodyLength ?? body.count
        return magic + [version, kind, UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)] + body
    }
}

/// Field helpers: `text(1, "default")`, `u16(3, 8080)`, `u64(6, 42)`.
func text(_ tag: UInt8, _ value: String) -> (tag: UInt8, value: [UInt8]) { (tag, Array(value.utf8)) }
func u16(_ tag: UInt8, _ value: UInt16) -> (tag: UInt8, value: [UInt8]) {
    (tag, [UInt8(value >> 8), UInt8(value & 0xFF)])
}
func u64(_ tag: UInt8, _ value: UInt64) -> (tag: UInt8, value: [UInt8]) {
    (tag, (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) })
}

/// The three required fields of a valid `connect` to default/redis:6379.
let connectFields: [(tag: UInt8, value: [UInt8])] = [text(1, "default"), text(2, "redis"), u16(3, 6379)]
