extension DiscoveryMessage {
    /// The frame's wire bytes (see `DiscoveryMessage` for the format).
    ///
    /// Throws `.invalidField(name)` for a namespace or name that is not a DNS label or a port of 0,
    /// `.tooManyPorts`, `.duplicatePort`, and `.tooLong` when the frame would exceed `maxFrameSize`
    /// (which the current messages cannot reach: the largest `upsert` is 258 bytes after the length).
    public func encoded() throws(DiscoveryFrameError) -> [UInt8] {
        var body: [UInt8] = [typeByte]
        switch self {
        case .snapshotBegin(let generation), .snapshotEnd(let generation):
            Self.appendInteger(generation, to: &body)
        case .upsert(let service):
            try Self.appendLabel(service.namespace, DiscoveryFrame.namespaceField, to: &body)
            try Self.appendLabel(service.name, DiscoveryFrame.nameField, to: &body)
            let ports = service.ports
            guard ports.count <= Self.maxPortsPerService else { throw .tooManyPorts }
            guard !ports.contains(0) else { throw .invalidField(DiscoveryFrame.portsField) }
            guard Set(ports).count == ports.count else { throw .duplicatePort }
            body.append(UInt8(truncatingIfNeeded: ports.count))
            for port in ports { Self.appendInteger(port, to: &body) }
        case .remove(let namespace, let name):
            try Self.appendLabel(namespace, DiscoveryFrame.namespaceField, to: &body)
            try Self.appendLabel(name, DiscoveryFrame.nameField, to: &body)
        case .keepalive:
            break
        }
        guard body.count <= Self.maxFrameSize else { throw .tooLong }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(DiscoveryFrame.lengthSize + body.count)
        Self.appendInteger(UInt16(truncatingIfNeeded: body.count), to: &bytes)
        bytes.append(contentsOf: body)
        return bytes
    }

    /// Appends a one-byte length and the label, after checking it is a DNS label.
    private static func appendLabel(
        _ value: String, _ field: String, to bytes: inout [UInt8]
    ) throws(DiscoveryFrameError) {
        let utf8 = value.utf8
        guard FieldSyntax.label.isValid(utf8) else { throw .invalidField(field) }
        bytes.append(UInt8(truncatingIfNeeded: utf8.count))
        bytes.append(contentsOf: utf8)
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
