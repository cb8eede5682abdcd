import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// When a reused session ticket is renewed. A client may present one ticket on many connections
/// (``TLSSessionCache``); a server then sends a new ticket on a resumed handshake only once the
/// presented one has lived half its lifetime, and the client waits for a ticket after a resumed
/// handshake only in that case. Each side measures the age with its own clock from when it
/// issued (server) or received (client) the ticket, so the server, which issued first, is always
/// due no later than the client. Full handshakes always bring a ticket.
public enum TicketRenewal {
    /// Whether `session` (an `SSL_SESSION*`) is due for a new ticket at `now` (seconds since 1970).
    static func isDue(_ session: OpaquePointer, now: Int = Int(time(nil))) -> Bool {
        isDue(issuedAt: Int(SSL_SESSION_get_time(session)), lifetime: Int(SSL_SESSION_get_timeout(session)), now: now)
    }

    /// The rule itself: due once half the lifetime has passed (or the lifetime is unknown).
    public static func isDue(issuedAt: Int, lifetime: Int, now: Int) -> Bool {
        guard lifetime > 0 else { return true }
        return (now - issuedAt) * 2 >= lifetime
    }
}
