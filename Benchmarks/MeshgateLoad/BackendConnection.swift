/// The state of one accepted connection on a backend worker.
final class BackendConnection {
    let fd: Int32
    /// Epoll events currently watched.
    var interest: UInt32 = 0
    /// Bytes accepted by `send` being owed to the peer (echo remainder or reply chunk).
    var pending: [UInt8] = []
    var pendingOffset = 0
    /// The peer shut down its write side.
    var readEOF = false
    /// Bytes received on this connection.
    var received = 0
    /// `drainThenReply`: hash of what arrived, and the reply still to send once EOF came.
    var hasher: SHA256Hasher?
    var replying = false
    var replyRemaining = 0
    var replyStream = PatternStream(seed: BackendServer.replySeed)
    /// `source`: position in the shared source buffer.
    var sourceOffset = 0

    init(fd: Int32) {
        self.fd = fd
    }

    var hasPending: Bool { pendingOffset < pending.count }

    /// Keeps `bytes` as owed output.
    func queue(_ bytes: UnsafeRawBufferPointer) {
        pending = Array(bytes)
        pendingOffset = 0
    }
}
