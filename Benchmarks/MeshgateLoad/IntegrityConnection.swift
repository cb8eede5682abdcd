/// One connection of an `IntegrityRun`: sends its pattern, reads the answer, and hashes both.
final class IntegrityConnection {
    let index: Int
    let size: Int
    var fd: Int32 = -1
    var connected = false
    var finished = false
    var interest: UInt32 = 0

    var sendStream: PatternStream
    var sendHasher = SHA256Hasher()
    var sendRemaining: Int
    var pending: [UInt8] = []
    var pendingOffset = 0
    var writeShut = false

    var recvHasher = SHA256Hasher()
    var received = 0

    init(index: Int, size: Int, seed: UInt64) {
        self.index = index
        self.size = size
        sendStream = PatternStream(seed: seed)
        sendRemaining = size
    }

    /// All bytes are generated and handed to the socket.
    var sendDone: Bool { sendRemaining == 0 && pendingOffset >= pending.count }
}
