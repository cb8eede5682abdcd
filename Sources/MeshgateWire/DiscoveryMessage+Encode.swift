extension DiscoveryMessage {
    /// The frame's wire bytes (see `DiscoveryMessage` for the format).
    ///
    /// Throws `.invalidField(name)` for a namespace or name that is not a DNS label or a port of 0,
    /// `.tooManyPorts`, `.duplicatePort`, and `.tooLong` when the frame would exceed `maxFrameSize`
    /// (which the current messages cannot reach: the largest `upsert` is 258 bytes after the
    /// length, the largest `upsertNamed` 1,282). `upsert` leaves `portNames` out; `upsertNamed`
    /// also throws `.invalidField("port_name")` for a name that is neither "" nor a `PortName` or
    /// a `portNames` count other than the port count, and `.duplicatePortName`.
    public func encoded() throws(DiscoveryFrameError) -> [UInt8] {
        var body: [UInt8] = [typeByte]
        switch self {
        case .snapshotBegin(let generation), .snapshotEnd(let generation):
            Self.appendInteger(generation, to: &body)
        case .upsert(let service):
            try Self.appendServiceHead(service, to: &body)
            for port in service.ports { Self.appendInteger(port, to: &body) }
        case .upsertNamed(let service):
            try Self.appendServiceHead(service, to: &body)
            let names = service.portNames
            guard names.count == service.ports.count else { throw .invalidField(DiscoveryFrame.portNameField) }
            var seen = Set<String>()
            for (port, name) in zip(service.ports, names) {
                guard name.isEmpty || PortName.isValid(name) else { throw .invalidField(DiscoveryFrame.portNameField) }
                guard name.isEmpty || seen.insert(name).inserted else { throw .duplicatePortName }
                Self.appendInteger(port, to: &body)
                body.append(UInt8(truncatingIfNeeded: name.utf8.count))
                body.append(contentsOf: name.utf8)
            }
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

    /// Appends namespace, name and port count, after checking the ports.
    private static func appendServiceHead(_ service: DiscoveredService, to body: inout [UInt8]) throws(DiscoveryFrameError) {
        try appendLabel(service.namespace, DiscoveryFrame.namespaceField, to: &body)
        try appendLabel(service.name, DiscoveryFrame.nameField, to: &body)
        let ports = service.ports
        guard ports.count <= maxPortsPerService else { throw .tooManyPorts }
        guard !ports.contains(0) else { throw .invalidField(DiscoveryFrame.portsField) }
        guard Set(ports).count == ports.count else { throw .duplicatePort }
        body.append(UInt8(truncatingIfNeeded: ports.count))
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
