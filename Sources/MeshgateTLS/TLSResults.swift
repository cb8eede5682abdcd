/// The outcome of driving the handshake one step.
public enum TLSHandshakeResult: Equatable, Sendable {
    /// Send what ``TLSConnection/takeOutbound()`` holds and feed the peer's reply.
    case inProgress
    /// Done: the peer's identity is verified and ALPN agreed. Flush the outbound bytes.
    case complete
    /// The handshake failed; flush the outbound bytes (they may hold an alert) and close.
    case failed(TLSError)
}

/// The outcome of reading plaintext.
public enum TLSReadResult: Equatable, Sendable {
    /// This many plaintext bytes were written into the buffer.
    case bytes(Int)
    /// No complete record is buffered: feed more ciphertext.
    case needMoreInput
    /// The peer sent close_notify: a clean end of its stream (this side may still write).
    case closeNotify
    /// The stream ended (``TLSConnection/receiveEOF()``) without close_notify: do not pass it on as complete.
    case truncated
    /// The connection failed (bad record, fatal alert from the peer, ...).
    case failed(TLSError)
}

/// The outcome of writing plaintext.
public enum TLSWriteResult: Equatable, Sendable {
    /// All bytes were encrypted into the outbound buffer.
    case written(Int)
    /// Nothing can be written (closed or failed).
    case failed(TLSError)
}

/// The outcome of ``TLSConnection/shutdown()``.
public enum TLSShutdownResult: Equatable, Sendable {
    /// close_notify is in the outbound buffer; the peer's has not arrived yet.
    case closeNotifySent
    /// close_notify went both ways.
    case complete
    /// No close_notify can be sent (the handshake did not complete or the connection failed).
    case failed(TLSError)
}
