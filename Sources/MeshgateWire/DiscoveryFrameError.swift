/// Why a `discover` stream frame could not be decoded or encoded (see `DiscoveryMessage`).
///
/// Like `TransportHeaderError`, a struct around an internal code: compare with `==` against the
/// static members, use `reason` as a counter suffix and `description` in logs.
///
/// Field names used by `invalidField`: `namespace`, `name`, `ports`, `port_name`.
public struct DiscoveryFrameError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Code: Hashable, Sendable {
        case tooLong
        case unknownType
        case truncatedFrame
        case trailingBytes
        case invalidField(String)
        case tooManyPorts
        case duplicatePort
        case duplicatePortName
    }

    let code: Code

    init(_ code: Code) { self.code = code }

    /// The frame length (the bytes after the 2-byte length) exceeds `DiscoveryMessage.maxFrameSize`.
    public static let tooLong = DiscoveryFrameError(.tooLong)
    /// The type byte is not 1–6.
    public static let unknownType = DiscoveryFrameError(.unknownType)
    /// The frame ends before its type byte or inside a field (length 0, a label or the port list
    /// running past the frame length, a generation shorter than 8 bytes).
    public static let truncatedFrame = DiscoveryFrameError(.truncatedFrame)
    /// Bytes are left inside the frame after the type's last field.
    public static let trailingBytes = DiscoveryFrameError(.trailingBytes)
    /// A value breaks its rule: a namespace or name that is not a DNS label, a port of 0, a port
    /// name that is not a `PortName` (or a `portNames` count other than the port count, encoding).
    public static func invalidField(_ name: String) -> DiscoveryFrameError { .init(.invalidField(name)) }
    /// A service with more than `DiscoveryMessage.maxPortsPerService` ports.
    public static let tooManyPorts = DiscoveryFrameError(.tooManyPorts)
    /// A service lists the same port twice.
    public static let duplicatePort = DiscoveryFrameError(.duplicatePort)
    /// A service gives two ports the same name (`upsertNamed`).
    public static let duplicatePortName = DiscoveryFrameError(.duplicatePortName)

    /// A short snake_case label, one per kind of failure (without the field name).
    public var reason: String {
        switch code {
        case .tooLong: return "too_long"
        case .unknownType: return "unknown_type"
        case .truncatedFrame: return "truncated_frame"
        case .trailingBytes: return "trailing_bytes"
        case .invalidField: return "invalid_field"
        case .tooManyPorts: return "too_many_ports"
        case .duplicatePort: return "duplicate_port"
        case .duplicatePortName: return "duplicate_port_name"
        }
    }

    /// The field concerned, for `invalidField`.
    public var field: String? {
        if case .invalidField(let name) = code { return name }
        return nil
    }

    /// `reason`, followed by the field name when there is one (e.g. `invalid_field: ports`).
    public var description: String {
        if let field { return "\(reason): \(field)" }
        return reason
    }
}
