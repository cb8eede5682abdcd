extension TransportHeader {
    /// The header's wire bytes (see `TransportHeader` for the format).
    ///
    /// Throws `.invalidField(name)` when a field breaks its rules (a namespace, name or cluster
    /// that is not a DNS label, port 0, an empty, over-long or non-printable client identity) and
    /// `.tooLong` when the result would exceed `maxEncodedSize`.
    public func encoded() throws(TransportHeaderError) -> [UInt8] {
        var bytes: [UInt8] = []
        try encode(into: &bytes)
        return bytes
    }

    /// Appends the header's wire bytes to `bytes`; on error nothing is appended.
    /// Errors as for `encoded()`.
    public func encode(into bytes: inout [UInt8]) throws(TransportHeaderError) {
        let fh = WireFormat.fieldHeaderSize
        switch self {
        case .connect(let target, let identity):
            try Self.check(target.namespace.utf8, .namespace)
            try Self.check(target.name.utf8, .name)
            guard target.port != 0 else { throw .invalidField(FieldTag.port.fieldName) }
            var body = fh + target.namespace.utf8.count + fh + target.name.utf8.count + fh + 2
            if let identity {
                try Self.check(identity.utf8, .clientIdentity)
                body += fh + identity.utf8.count
            }
            try Self.appendPreamble(.connect, bodyLength: body, to: &bytes)
            Self.appendField(.namespace, target.namespace.utf8, to: &bytes)
            Self.appendField(.name, target.name.utf8, to: &bytes)
            Self.appendFieldHeader(.port, length: 2, to: &bytes)
            Self.appendInteger(target.port, to: &bytes)
            if let identity { Self.appendField(.clientIdentity, identity.utf8, to: &bytes) }
        case .discover(let cluster, let options):
            try Self.check(cluster.utf8, .cluster)
            // Without options the header is exactly what gateways before field 128 sent.
            let body = fh + cluster.utf8.count + (options.isEmpty ? 0 : fh + 1)
            try Self.appendPreamble(.discover, bodyLength: body, to: &bytes)
            Self.appendField(.cluster, cluster.utf8, to: &bytes)
            if !options.isEmpty {
                Self.appendFieldHeader(.discoverOptions, length: 1, to: &bytes)
                bytes.append(options.rawValue)
            }
        case .probe(let nonce):
            try Self.appendPreamble(.probe, bodyLength: fh + 8, to: &bytes)
            Self.appendFieldHeader(.nonce, length: 8, to: &bytes)
            Self.appendInteger(nonce, to: &bytes)
        case .pooled:
            try Self.appendPreamble(.pooled, bodyLength: 0, to: &bytes)
        }
    }

    private static func check(_ value: String.UTF8View, _ tag: FieldTag) throws(TransportHeaderError) {
        guard tag.syntax.isValid(value) else { throw .invalidField(tag.fieldName) }
    }

    /// Checks the size, reserves room and appends magic, version, kind and body length.
    private static func appendPreamble(
        _ kind: TransportHeaderKind, bodyLength: Int, to bytes: inout [UInt8]
    ) throws(TransportHeaderError) {
        guard bodyLength <= maxEncodedSize - WireFormat.preambleSize else { throw .tooLong }
        bytes.reserveCapacity(bytes.count + WireFormat.preambleSize + bodyLength)
        appendInteger(WireFormat.magic, to: &bytes)
        bytes.append(WireFormat.version)
        bytes.append(kind.rawValue)
        appendInteger(UInt16(truncatingIfNeeded: bodyLength), to: &bytes)
    }

    private static func appendField(_ tag: FieldTag, _ value: String.UTF8View, to bytes: inout [UInt8]) {
        appendFieldHeader(tag, length: value.count, to: &bytes)
        bytes.append(contentsOf: value)
    }

    private static func appendFieldHeader(_ tag: FieldTag, length: Int, to bytes: inout [UInt8]) {
        bytes.append(tag.rawValue)
        appendInteger(UInt16(truncatingIfNeeded: length), to: &bytes)
    }

    /// Appends `value` big-endian.
    private static func appendInteger<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        var shift = T.bitWidth - 8
        while shift >= 0 {
            bytes.append(UInt8(truncatingIfNeeded: value >> shift))
            shift -= 8
        }
    }
}
