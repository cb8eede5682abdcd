/// Deterministic pseudo-random bytes for a seed: byte `i` of the stream depends only on the seed and `i`,
/// so a sender and a checker can each produce the same 64 MiB without storing it.
///
/// The stream is a sequence of little-endian 64-bit words, word `k` being SplitMix64's output for
/// `seed + (k + 1) * golden gamma`. Filling is counter based, so a stream can start at any offset.
public struct PatternStream: Sendable {
    private static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// The seed this stream was created with.
    public let seed: UInt64
    /// How many bytes have been produced so far (the position of the next byte).
    public private(set) var offset: UInt64

    /// A stream for `seed`, positioned at byte 0.
    public init(seed: UInt64) {
        self.init(seed: seed, offset: 0)
    }

    /// A stream for `seed`, positioned at byte `offset`.
    public init(seed: UInt64, offset: UInt64) {
        self.seed = seed
        self.offset = offset
    }

    /// Word `index` of the stream.
    @inline(__always)
    private func word(_ index: UInt64) -> UInt64 {
        var z = seed &+ (index &+ 1) &* Self.gamma
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Fills `buf` with the next `buf.count` bytes of the stream.
    public mutating func fill(_ buf: UnsafeMutableRawBufferPointer) {
        guard let base = buf.baseAddress, buf.count > 0 else { return }
        var written = 0
        let total = buf.count
        // Leading partial word.
        var position = offset
        let skew = Int(position & 7)
        if skew != 0 {
            let w = word(position >> 3).littleEndian
            let take = min(8 - skew, total)
            withUnsafeBytes(of: w) { bytes in
                for i in 0..<take { base.storeBytes(of: bytes[skew + i], toByteOffset: i, as: UInt8.self) }
            }
            written = take
            position &+= UInt64(take)
        }
        // Whole words.
        var index = position >> 3
        while total - written >= 8 {
            base.storeBytes(of: word(index).littleEndian, toByteOffset: written, as: UInt64.self)
            written += 8
            index &+= 1
        }
        // Trailing partial word.
        if written < total {
            let w = word(index).littleEndian
            let take = total - written
            withUnsafeBytes(of: w) { bytes in
                for i in 0..<take { base.storeBytes(of: bytes[i], toByteOffset: written + i, as: UInt8.self) }
            }
            written = total
        }
        offset &+= UInt64(total)
    }

    /// Skips the next `count` bytes.
    public mutating func skip(_ count: Int) {
        offset &+= UInt64(count)
    }

    /// The first `count` bytes of the stream for `seed`.
    public static func bytes(seed: UInt64, count: Int) -> [UInt8] {
        var stream = PatternStream(seed: seed)
        return [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
            stream.fill(UnsafeMutableRawBufferPointer(buf))
            initialized = count
        }
    }

    /// The SHA-256 (hex) of the first `count` bytes of the stream for `seed`.
    public static func sha256(seed: UInt64, count: Int) -> String {
        hashChunks(seed: seed, count: count) { _ in }
    }

    /// Generates the first `count` bytes of the stream for `seed` in chunks of up to 64 KiB,
    /// hands each chunk to `body` in order and returns the SHA-256 (hex) of them all.
    /// A chunk is only valid during its call.
    static func hashChunks(seed: UInt64, count: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows -> String {
        var stream = PatternStream(seed: seed)
        var hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer { buffer.deallocate() }
        var left = count
        while left > 0 {
            let n = min(left, buffer.count)
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
            stream.fill(chunk)
            hasher.update(UnsafeRawBufferPointer(chunk))
            try body(UnsafeRawBufferPointer(chunk))
            left -= n
        }
        return hasher.finalize()
    }
}
