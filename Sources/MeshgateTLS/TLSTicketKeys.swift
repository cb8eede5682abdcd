import Foundation

/// The keys a server encrypts and decrypts its session tickets with: the first key encrypts new
/// tickets, every key decrypts. A ticket decrypted with a key other than the first is accepted and
/// due for renewal (the server may send a ticket under the current key).
///
/// Two kinds:
/// - **generated** (``generated(rotation:retention:clock:)``): random keys, a new one every
///   `rotation`; a replaced key still decrypts for `retention` (at least the ticket lifetime, so
///   that every ticket it encrypted stays usable for its whole life), then it is dropped.
///   ``processWide`` is one such ring shared by every server context of a process that names no
///   key file, so an identity reload keeps tickets valid (the session id context still refuses
///   them when the identity changed: ``SessionIDContext``).
/// - **fixed** (``init(keys:origin:)``, ``init(contentsOfFile:)``): the keys of a key file shared
///   by a gateway's replicas, so that a ticket one replica issued resumes on any other. Rotation
///   is the file's: put a new key first, keep the previous ones for the ticket lifetime, reload.
///
/// Thread-safe: server contexts are shared by loop threads, and each asks for a key per ticket.
public final class TLSTicketKeys: @unchecked Sendable {
    /// How often ``processWide`` and ``generated(rotation:retention:clock:)`` make a new key by default.
    public static let defaultRotation: Duration = .seconds(12 * 3600)
    /// How long a replaced generated key still decrypts by default: OpenSSL's default session
    /// lifetime (2 h), which meshgate's servers keep as the lifetime of their tickets.
    public static let defaultRetention: Duration = .seconds(2 * 3600)

    /// The generated keys every server context of this process uses unless it names a key file.
    public static let processWide = TLSTicketKeys.generated()

    /// One key of the ring; `retiredAt` is when it stopped encrypting (nil: it still does).
    private struct Entry {
        let key: TLSTicketKey
        let createdAt: Duration
        var retiredAt: Duration?
    }

    // Invariant: `entries` is only touched while holding `lock`; entries[0] encrypts.
    private let lock = NSLock()
    private var entries: [Entry]
    /// Generated rings only: how often a new key replaces the encrypting one.
    private let rotation: Duration?
    /// Generated rings only: how long a replaced key still decrypts.
    private let retention: Duration
    private let clock: @Sendable () -> Duration

    /// Where the keys come from, for logs and errors: a file path or `generated`.
    public let origin: String

    /// A fixed ring: `keys[0]` encrypts, all decrypt. Fails for no key or two keys of one name.
    public init(keys: [TLSTicketKey], origin: String) throws(TLSError) {
        guard !keys.isEmpty else { throw TLSError(.invalidConfiguration, "\(origin): no session ticket key") }
        var names = Set<[UInt8]>()
        for key in keys where !names.insert(key.name).inserted {
            throw TLSError(.invalidConfiguration, "\(origin): two session ticket keys are named \(key.nameHex)")
        }
        self.entries = keys.map { Entry(key: $0, createdAt: .zero, retiredAt: nil) }
        self.rotation = nil
        self.retention = .zero
        self.clock = { .zero }
        self.origin = origin
    }

    private init(rotation: Duration, retention: Duration, clock: @escaping @Sendable () -> Duration) {
        let now = clock()
        self.entries = [Entry(key: .random(), createdAt: now, retiredAt: nil)]
        self.rotation = rotation
        self.retention = retention
        self.clock = clock
        self.origin = "generated"
    }

    /// A ring of random keys rotated every `rotation`; a replaced key decrypts for `retention`
    /// more. `clock` reads a monotonic time (tests pass their own).
    /// - Precondition: `rotation` is positive.
    public static func generated(
        rotation: Duration = defaultRotation, retention: Duration = defaultRetention,
        clock: @escaping @Sendable () -> Duration = monotonicClock()
    ) -> TLSTicketKeys {
        precondition(rotation > .zero, "ticket key rotation must be positive")
        return TLSTicketKeys(rotation: rotation, retention: max(.zero, retention), clock: clock)
    }

    /// Time since the call, on the monotonic clock.
    public static func monotonicClock() -> @Sendable () -> Duration {
        let start = ContinuousClock.now
        return { start.duration(to: .now) }
    }

    /// The key that encrypts new tickets now (rotating a generated ring when it is due).
    func encryptionKey() -> TLSTicketKey {
        lock.withLock {
            advance()
            return entries[0].key
        }
    }

    /// The key named `name` and whether a ticket under it is due for renewal (it is not the key
    /// that encrypts now); nil when no key of the ring has that name (any more).
    func decryptionKey(named name: UnsafeBufferPointer<UInt8>) -> (key: TLSTicketKey, renew: Bool)? {
        lock.withLock {
            advance()
            guard let index = entries.firstIndex(where: { $0.key.name.elementsEqual(name) }) else { return nil }
            return (entries[index].key, index != 0)
        }
    }

    /// The names of the keys that decrypt now, the encrypting one first.
    public var keyNames: [[UInt8]] {
        lock.withLock {
            advance()
            return entries.map(\.key.name)
        }
    }

    /// Generated rings: replaces the encrypting key when it has served `rotation`, and drops
    /// replaced keys whose `retention` has passed. Called with `lock` held.
    private func advance() {
        guard let rotation else { return }
        let now = clock()
        if now - entries[0].createdAt >= rotation {
            entries[0].retiredAt = now
            entries.insert(Entry(key: .random(), createdAt: now, retiredAt: nil), at: 0)
        }
        entries.removeAll { entry in entry.retiredAt.map { now - $0 >= retention } ?? false }
    }
}
