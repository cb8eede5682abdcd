import COpenSSL
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Client-side TLS 1.3 session tickets, kept per peer (any string key, e.g. the peer's identity
/// or link name) so that the next connections to that peer resume without a full handshake.
///
/// A ticket serves several connections within its lifetime: ``take`` hands out an independent
/// copy (`SSL_SESSION_dup`) and keeps the stored ticket, and a stored ticket is itself a copy of
/// the one the connection received. So a connection that ends without close_notify — OpenSSL
/// then marks *its* session not resumable — never spoils the stored ticket. Each resumption
/// still makes a fresh (EC)DHE exchange (`psk_dhe_ke`: meshgate never allows `psk_ke`), so
/// reusing a ticket keeps forward secrecy; what a reused ticket gives away is only that the
/// connections come from the same client, which gateway identities state anyway.
///
/// The newest ticket of a key is used; a newer one replaces it as the one handed out (the newest
/// ``ticketsPerPeer`` are kept). Expired tickets are dropped when met. A server renews a reused
/// ticket once it has lived half its lifetime (``TicketRenewal``). Shared by all loops of a process.
public final class TLSSessionCache: @unchecked Sendable {
    /// One stored ticket and the connections it has been handed to.
    private struct Ticket {
        let session: OpaquePointer
        var uses: Int
    }

    // Invariant: `tickets` and `keyOrder` are only touched while holding `lock`. Every stored
    // SSL_SESSION* carries one reference owned by the cache, released when it leaves the cache;
    // no stored session is ever attached to an SSL (connections get copies).
    private let lock = NSLock()
    private var tickets: [String: [Ticket]] = [:]
    private var keyOrder: [String] = []

    /// Tickets kept per key (the newest); older ones are dropped first.
    public let ticketsPerPeer: Int
    /// Keys kept; the least recently stored key is dropped first.
    public let maxPeers: Int
    /// Connections one ticket may start; nil (the default) bounds a ticket only by its lifetime,
    /// which the server sets (2 h by OpenSSL's default) and renews at half of it.
    public let maxUses: Int?

    /// An empty cache.
    /// - Parameters:
    ///   - ticketsPerPeer: tickets kept per key (at least 1).
    ///   - maxPeers: keys kept (at least 1).
    ///   - maxUses: connections per ticket (at least 1), or nil for no bound but the ticket's lifetime.
    public init(ticketsPerPeer: Int = 4, maxPeers: Int = 1024, maxUses: Int? = nil) {
        self.ticketsPerPeer = max(1, ticketsPerPeer)
        self.maxPeers = max(1, maxPeers)
        self.maxUses = maxUses.map { max(1, $0) }
    }

    deinit {
        for list in tickets.values { list.forEach { SSL_SESSION_free($0.session) } }
    }

    /// Tickets held for `key`.
    public func count(for key: String) -> Int {
        lock.withLock { tickets[key]?.count ?? 0 }
    }

    /// Forgets the tickets of `key` (e.g. after the peer's identity or trust bundle changed).
    public func remove(_ key: String) {
        let dropped = lock.withLock { () -> [Ticket] in
            keyOrder.removeAll { $0 == key }
            return tickets.removeValue(forKey: key) ?? []
        }
        dropped.forEach { SSL_SESSION_free($0.session) }
    }

    /// Forgets every ticket.
    public func removeAll() {
        let dropped = lock.withLock { () -> [[Ticket]] in
            defer { tickets = [:]; keyOrder = [] }
            return Array(tickets.values)
        }
        dropped.joined().forEach { SSL_SESSION_free($0.session) }
    }

    /// Stores a copy of `session` (an `SSL_SESSION*` whose reference the cache takes over and
    /// releases at once) under `key`, as the newest ticket of that key.
    func store(_ session: OpaquePointer, for key: String) {
        let copy = SSL_SESSION_dup(session)
        SSL_SESSION_free(session)
        guard let copy else { return }
        var dropped: [Ticket] = []
        lock.withLock {
            var list = tickets[key] ?? []
            list.append(Ticket(session: copy, uses: 0))
            if list.count > ticketsPerPeer { dropped.append(contentsOf: list.prefix(list.count - ticketsPerPeer)) }
            tickets[key] = Array(list.suffix(ticketsPerPeer))
            keyOrder.removeAll { $0 == key }
            keyOrder.append(key)
            while keyOrder.count > maxPeers {
                dropped.append(contentsOf: tickets.removeValue(forKey: keyOrder.removeFirst()) ?? [])
            }
        }
        dropped.forEach { SSL_SESSION_free($0.session) }
    }

    /// A copy of the newest usable ticket for `key`, for one connection; the caller owns its
    /// reference. The stored ticket stays for later connections until it expires or has served
    /// ``maxUses`` connections; expired or unresumable tickets met on the way are dropped.
    func take(for key: String, now: Int = Int(time(nil))) -> OpaquePointer? {
        var dropped: [Ticket] = []
        defer { dropped.forEach { SSL_SESSION_free($0.session) } }
        return lock.withLock { () -> OpaquePointer? in
            guard var list = tickets[key] else { return nil }
            defer { tickets[key] = list.isEmpty ? nil : list }
            while var ticket = list.last {
                let session = ticket.session
                let unexpired = Int(SSL_SESSION_get_time(session)) + Int(SSL_SESSION_get_timeout(session)) > now
                guard unexpired, SSL_SESSION_is_resumable(session) == 1, let copy = SSL_SESSION_dup(session) else {
                    dropped.append(list.removeLast())
                    continue
                }
                ticket.uses += 1
                if let maxUses, ticket.uses >= maxUses {
                    dropped.append(list.removeLast())
                } else {
                    list[list.count - 1] = ticket
                }
                return copy
            }
            return nil
        }
    }
}
