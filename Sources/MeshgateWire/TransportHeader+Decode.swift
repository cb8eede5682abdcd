extension TransportHeader {
    /// Decodes a header from the first bytes a peer sent: call it again from the start with more
    /// bytes after `.needMoreBytes`. Bytes after the header (payload) are left alone; `consumed`
    /// says where the header ends.
    ///
    /// Checks everything it can on the bytes available, in wire order, so garbage is refused at
    /// once (a first byte other than `M` is `.badMagic`, a body length over the limit is
    /// `.tooLong` before the body arrives, a bad tag or label byte as soon as it is seen):
    /// `.needMoreBytes` means the bytes so far are a valid prefix. Never traps, on any input.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> TransportHeaderDecoding {
        let available = bytes.count
        for index in 0..<min(available, 4) where bytes[index] != WireFormat.magicByte(index) {
            return .invalid(.badMagic)
        }
        if available > 4, bytes[4] != WireFormat.version { return .invalid(.unsupportedVersion) }
        guard available > 5 else { return .needMoreBytes }
        guard let kind = TransportHeaderKind(rawValue: bytes[5]) else { return .invalid(.unknownKind) }
        guard available >= WireFormat.preambleSize else { return .needMoreBytes }
        let total = WireFormat.preambleSize + readLength(bytes, at: 6)
        guard total <= maxEncodedSize else { return .invalid(.tooLong) }

        var fields = DecodedFields()
        var cursor = WireFormat.preambleSize
        while cursor < total {
            guard cursor < available else { return .needMoreBytes }
            let rawTag = bytes[cursor]
            var tag: FieldTag?
            if rawTag < WireFormat.firstExtensionTag {
                guard let known = FieldTag(rawValue: rawTag) else { return .invalid(.unknownField) }
                guard known.kind == kind else { return .invalid(.unexpectedField(known.fieldName)) }
                guard fields.seen & known.bit == 0 else { return .invalid(.duplicateField) }
                tag = known
            } else if let known = FieldTag(rawValue: rawTag), known.kind == kind {
                // A known extension of this kind is checked like any field; others are skipped.
                guard fields.seen & known.bit == 0 else { return .invalid(.duplicateField) }
                tag = known
            }
            guard total - cursor >= WireFormat.fieldHeaderSize else { return .invalid(.truncatedField) }
            guard available - cursor >= WireFormat.fieldHeaderSize else { return .needMoreBytes }
            let length = readLength(bytes, at: cursor + 1)
            let start = cursor + WireFormat.fieldHeaderSize
            guard length <= total - start else { return .invalid(.truncatedField) }
            let end = start + length
            if let tag {
                let syntax = tag.syntax
                guard syntax.allowsLength(length) else { return .invalid(.invalidField(tag.fieldName)) }
                for index in start..<min(end, available) where !syntax.allowsByte(bytes[index], at: index - start) {
                    return .invalid(.invalidField(tag.fieldName))
                }
                guard end <= available else { return .needMoreBytes }
                let value = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
                guard syntax.isValid(value) else { return .invalid(.invalidField(tag.fieldName)) }
                fields.record(tag, value)
            } else {
                guard end <= available else { return .needMoreBytes }
            }
            cursor = end
        }
        switch fields.header(kind) {
        case .success(let header): return .complete(header, consumed: total)
        case .failure(let error): return .invalid(error)
        }
    }

    /// Convenience for `decode(_: UnsafeRawBufferPointer)` on an array.
    public static func decode(_ bytes: [UInt8]) -> TransportHeaderDecoding {
        bytes.withUnsafeBytes { decode($0) }
    }

    /// The UInt16 big-endian at `offset` (the caller checked `offset + 1 < bytes.count`).
    @inline(__always)
    private static func readLength(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int {
        Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
    }
}

/// The fields seen so far while decoding one header body.
private struct DecodedFields {
    var seen: UInt8 = 0
    var namespace = ""
    var name = ""
    var port: UInt16 = 0
    var clientIdentity: String?
    var cluster = ""
    var nonce: UInt64 = 0
    var discoverOptions: DiscoverOptions = []

    /// Stores a complete, validated value.
    mutating func record(_ tag: FieldTag, _ value: UnsafeRawBufferPointer) {
        seen |= tag.bit
        switch tag {
        case .namespace: namespace = String(decoding: value, as: UTF8.self)
        case .name: name = String(decoding: value, as: UTF8.self)
        case .port: port = UInt16(truncatingIfNeeded: Self.integer(value))
        case .clientIdentity: clientIdentity = String(decoding: value, as: UTF8.self)
        case .cluster: cluster = String(decoding: value, as: UTF8.self)
        case .nonce: nonce = Self.integer(value)
        // Only the first byte carries flags; later bytes are reserved.
        case .discoverOptions: discoverOptions = DiscoverOptions(rawValue: value[0])
        }
    }

    /// The header of `kind`, or the first required field (in tag order) that is missing.
    func header(_ kind: TransportHeaderKind) -> Result<TransportHeader, TransportHeaderError> {
        switch kind {
        case .connect:
            if let missing = firstMissing(.namespace, .name, .port) { return .failure(.missingField(missing.fieldName)) }
            let target = ConnectTarget(namespace: namespace, name: name, port: port)
            return .success(.connect(target, clientIdentity: clientIdentity))
        case .discover:
            if let missing = firstMissing(.cluster) { return .failure(.missingField(missing.fieldName)) }
            return .success(.discover(cluster: cluster, options: discoverOptions))
        case .probe:
            if let missing = firstMissing(.nonce) { return .failure(.missingField(missing.fieldName)) }
            return .success(.probe(nonce: nonce))
        case .pooled:
            return .success(.pooled)
        }
    }

    /// The first of `tags` not seen.
    private func firstMissing(_ tags: FieldTag...) -> FieldTag? {
        for tag in tags where seen & tag.bit == 0 { return tag }
        return nil
    }

    /// Big-endian unsigned value of up to 8 bytes.
    private static func integer(_ value: UnsafeRawBufferPointer) -> UInt64 {
        var result: UInt64 = 0
        for byte in value { result = result << 8 | UInt64(byte) }
        return result
    }
}
