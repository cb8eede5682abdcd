/// The result of `TransportHeader.decode`: what the bytes received so far amount to.
public enum TransportHeaderDecoding: Sendable, Equatable {
    /// A whole header; it occupies the first `consumed` bytes, anything after is payload.
    case complete(TransportHeader, consumed: Int)
    /// The bytes are a valid prefix of a header; read more and decode again from the start.
    case needMoreBytes
    /// The bytes cannot start a valid header; close the connection and count `reason`.
    case invalid(TransportHeaderError)
}
