import COpenSSL
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Client-side TLS 1.3 session tickets, kept per peer (any string key, e.g. the peer's identity
/// or link name) so that the next connection to that peer can resume without a full handshake.
///
/// Tickets are used once: ``take`` removes the ticket it returns, and each handshake brings new
/// ones. Shared by all loops of a process.
public final class TLSSessionCache: @unchecked Sendable {
    // Invariant: `sessions` and `keyOrder` are only touched while holding `lock`. Every stored
    // SSL_SESSION* carries one reference owned by the cache, released when it leaves the cache.
    private let lock = NSLock()
    private var sessions: [String: [OpaquePointer]] = [:]
    private var keyOrder: [String] = []

    /// Tickets kept per key; older ones are dropped first.
    public let ticketsPerPeer: Int
    /// Keys kept; the least recently stored key is dropped first.
    public let maxPeers: Int

    /// An empty cache.
    public init(ticketsPerPeer: Int = 4, maxPeers: Int = 1024) {
        self.ticketsPerPeer = max(1, ticketsPerPeer)
        self.maxPeers = max(1, maxPeers)
    }

    deinit {
        for list in sessions.values { list.forEach { SSL_SESSION_free($0) } }
    }

    /// Tickets held for `key`.
    public func count(for key: String) -> Int {
        lock.withLock { sessions[key]?.count ?? 0 }
    }

    /// Forgets the tickets of `key` (e.g. after the peer's identity or trust bundle changed).
    public func remove(_ key: String) {
        let dropped = lock.withLock { () -> [OpaquePointer] in
            keyOrder.removeAll { $0 == key }
            return sessions.removeValue(forKey: key) ?? []
        }
        dropped.forEach { SSL_SESSION_free($0) }
    }

    /// Forgets every ticket.
    public func removeAll() {
        let dropped = lock.withLock { () -> [[OpaquePointer]] in
            defer { sessions = [:]; keyOrder = [] }
            return Array(sessions.values)
        }
        dropped.joined().forEach { SSL_SESSION_free($0) }
    }

    /// Stores `session` (an `SSL_SESSION*` whose reference the cache takes over) under `key`.
    func store(_ session: OpaquePointer, for key: String) {
        var dropped: [OpaquePointer] = []
        lock.withLock {
            var list = sessions[key] ?? []
            list.append(session)
            if list.count > ticketsPerPeer { dropped.append(contentsOf: list.prefix(list.count - ticketsPerPeer)) }
            sessions[key] = Array(list.suffix(ticketsPerPeer))
            keyOrder.removeAll { $0 == key }
            keyOrder.append(key)
            while keyOrder.count > maxPeers {
                dropped.append(contentsOf: sessions.removeValue(forKey: keyOrder.removeFirst()) ?? [])
            }
        }
        dropped.forEach { SSL_SESSION_free($0) }
    }

    /// Removes and returns the newest usable ticket for `key`; the caller owns its reference.
    /// OpenSSL marks the session of a connection freed without close_notify as not resumable
    /// (the last ticket it received); such tickets and expired ones are dropped here.
    func take(for key: String) -> OpaquePointer? {
        let now = Int(time(nil))
        var dropped: [OpaquePointer] = []
        defer { dropped.forEach { SSL_SESSION_free($0) } }
        return lock.withLock { () -> OpaquePointer? in
            while let session = sessions[key]?.popLast() {
                let unexpired = Int(SSL_SESSION_get_time(session)) + Int(SSL_SESSION_get_timeout(session)) > now
                if unexpired && SSL_SESSION_is_resumable(session) == 1 {
                    return session
                }
                dropped.append(session)
            }
            return nil
        }
    }
}
