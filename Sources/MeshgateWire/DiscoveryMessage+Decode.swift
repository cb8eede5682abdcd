extension DiscoveryMessage {
    /// Decodes one frame from the start of the bytes received so far: call it again from the start
    /// with more bytes after `.needMoreBytes`; after `.complete`, the next frame starts at `consumed`.
    ///
    /// Checks everything it can on the bytes available, in wire order (a frame length over
    /// `maxFrameSize` is `.tooLong` as soon as the 2 length bytes are in, a bad type or label byte
    /// as soon as it is seen), so `.needMoreBytes` means the bytes so far are a valid prefix and
    /// more bytes never turn `.invalid` into another result. Never traps, on any input.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> DiscoveryDecoding {
        var reader = FrameReader(bytes: bytes)
        switch reader.message() {
        case .success(let message): return .complete(message, consumed: reader.cursor)
        case .failure(.needMoreBytes): return .needMoreBytes
        case .failure(.invalid(let error)): return .invalid(error)
        }
    }

    /// Convenience for `decode(_: UnsafeRawBufferPointer)` on an array.
    public static func decode(_ bytes: [UInt8]) -> DiscoveryDecoding {
        bytes.withUnsafeBytes { decode($0) }
    }
}

/// Why a frame is not (yet) complete.
private enum Incomplete: Error {
    case needMoreBytes
    case invalid(DiscoveryFrameError)
}

/// Reads one frame in wire order. `end` is the frame's end once the length is known; every read
/// first checks it against `end` (past it: the frame is truncated), then against the bytes
/// available (past them: more bytes are needed).
private struct FrameReader {
    let bytes: UnsafeRawBufferPointer
    var cursor = 0
    var end = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func message() -> Result<DiscoveryMessage, Incomplete> {
        Result { () throws(Incomplete) -> DiscoveryMessage in
            guard bytes.count >= DiscoveryFrame.lengthSize else { throw .needMoreBytes }
            let length = Int(bytes[0]) << 8 | Int(bytes[1])
            guard length <= DiscoveryMessage.maxFrameSize else { throw .invalid(.tooLong) }
            cursor = DiscoveryFrame.lengthSize
            end = cursor + length
            let message: DiscoveryMessage
            switch try byte() {
            case DiscoveryFrame.snapshotBegin: message = .snapshotBegin(generation: try generation())
            case DiscoveryFrame.snapshotEnd: message = .snapshotEnd(generation: try generation())
            case DiscoveryFrame.upsert:
                let namespace = try label(DiscoveryFrame.namespaceField)
                let name = try label(DiscoveryFrame.nameField)
                message = .upsert(DiscoveredService(namespace: namespace, name: name, ports: try ports()))
            case DiscoveryFrame.upsertNamed:
                let namespace = try label(DiscoveryFrame.namespaceField)
                let name = try label(DiscoveryFrame.nameField)
                let (ports, names) = try namedPorts()
                message = .upsertNamed(DiscoveredService(namespace: namespace, name: name, ports: ports, portNames: names))
            case DiscoveryFrame.remove:
                let namespace = try label(DiscoveryFrame.namespaceField)
                message = .remove(namespace: namespace, name: try label(DiscoveryFrame.nameField))
            case DiscoveryFrame.keepalive: message = .keepalive
            default: throw .invalid(.unknownType)
            }
            guard cursor == end else { throw .invalid(.trailingBytes) }
            return message
        }
    }

    /// Checks that `count` more bytes fit in the frame, without needing them to have arrived.
    private func requireRoom(_ count: Int) throws(Incomplete) {
        guard count <= end - cursor else { throw .invalid(.truncatedFrame) }
    }

    private mutating func byte() throws(Incomplete) -> UInt8 {
        try requireRoom(1)
        guard cursor < bytes.count else { throw .needMoreBytes }
        defer { cursor += 1 }
        return bytes[cursor]
    }

    private mutating func generation() throws(Incomplete) -> UInt64 {
        try requireRoom(DiscoveryFrame.generationSize)
        guard bytes.count - cursor >= DiscoveryFrame.generationSize else { throw .needMoreBytes }
        var value: UInt64 = 0
        for index in cursor..<cursor + DiscoveryFrame.generationSize { value = value << 8 | UInt64(bytes[index]) }
        cursor += DiscoveryFrame.generationSize
        return value
    }

    /// A one-byte length and a DNS label; bytes are checked as they arrive.
    private mutating func label(_ field: String) throws(Incomplete) -> String {
        try text(length: Int(try byte()), syntax: .label, field: field)
    }

    /// `length` bytes of `syntax` text for `field`: the length and each byte are checked as soon
    /// as they are in, the whole text once all of it is.
    private mutating func text(length: Int, syntax: FieldSyntax, field: String) throws(Incomplete) -> String {
        guard syntax.allowsLength(length) else { throw .invalid(.invalidField(field)) }
        try requireRoom(length)
        let start = cursor
        let stop = start + length
        for index in start..<min(stop, bytes.count) where !syntax.allowsByte(bytes[index], at: index - start) {
            throw .invalid(.invalidField(field))
        }
        guard stop <= bytes.count else { throw .needMoreBytes }
        let value = UnsafeRawBufferPointer(rebasing: bytes[start..<stop])
        guard syntax.isValid(value) else { throw .invalid(.invalidField(field)) }
        cursor = stop
        return String(decoding: value, as: UTF8.self)
    }

    /// A UInt16 port, non-zero and not among `earlier`; checked as soon as both its bytes are in.
    private mutating func nextPort(distinctFrom earlier: [UInt16]) throws(Incomplete) -> UInt16 {
        try requireRoom(2)
        guard bytes.count - cursor >= 2 else { throw .needMoreBytes }
        let port = UInt16(bytes[cursor]) << 8 | UInt16(bytes[cursor + 1])
        guard port != 0 else { throw .invalid(.invalidField(DiscoveryFrame.portsField)) }
        guard !earlier.contains(port) else { throw .invalid(.duplicatePort) }
        cursor += 2
        return port
    }

    /// A one-byte count and that many (port, port name) pairs: ports non-zero and distinct, names
    /// "" or a `PortName`, the non-empty ones distinct; each value is checked as soon as it is in.
    private mutating func namedPorts() throws(Incomplete) -> ([UInt16], [String]) {
        let count = Int(try byte())
        guard count <= DiscoveryMessage.maxPortsPerService else { throw .invalid(.tooManyPorts) }
        // Each pair is at least a port and a name length.
        try requireRoom(3 * count)
        var ports: [UInt16] = []
        var names: [String] = []
        ports.reserveCapacity(count)
        names.reserveCapacity(count)
        for _ in 0..<count {
            let port = try nextPort(distinctFrom: ports)
            let name = try portName()
            guard name.isEmpty || !names.contains(name) else { throw .invalid(.duplicatePortName) }
            ports.append(port)
            names.append(name)
        }
        return (ports, names)
    }

    /// A one-byte length and a port name ("" for length 0); bytes are checked as they arrive.
    private mutating func portName() throws(Incomplete) -> String {
        let length = Int(try byte())
        if length == 0 { return "" }
        return try text(length: length, syntax: .portName, field: DiscoveryFrame.portNameField)
    }

    /// A one-byte count and that many non-zero, distinct UInt16 ports; each port is checked as
    /// soon as both its bytes are in.
    private mutating func ports() throws(Incomplete) -> [UInt16] {
        let count = Int(try byte())
        guard count <= DiscoveryMessage.maxPortsPerService else { throw .invalid(.tooManyPorts) }
        try requireRoom(2 * count)
        var ports: [UInt16] = []
        ports.reserveCapacity(count)
        for _ in 0..<count {
            ports.append(try nextPort(distinctFrom: ports))
        }
        return ports
    }
}
