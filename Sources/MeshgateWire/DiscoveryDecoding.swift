/// The result of `DiscoveryMessage.decode`: what the bytes received so far amount to.
public enum DiscoveryDecoding: Sendable, Equatable {
    /// A whole frame; it occupies the first `consumed` bytes, the next frame starts after them.
    case complete(DiscoveryMessage, consumed: Int)
    /// The bytes are a valid prefix of a frame; read more and decode again from the start.
    case needMoreBytes
    /// The bytes cannot start a valid frame; close the stream and count `reason`.
    case invalid(DiscoveryFrameError)
}
