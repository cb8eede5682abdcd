import COpenSSL

/// Session tickets on a connection: when a server issues one, and when a client waits for one.
extension TLSConnection {
    /// Client: whether a session ticket is still to come on this connection, so reading should
    /// stay with OpenSSL until it arrives. True after a full handshake until the first ticket;
    /// after a resumed one only when the ticket was due for renewal (``TicketRenewal``): the
    /// reused ticket serves on. False for servers and for clients without a session cache.
    public var awaitsSessionTicket: Bool {
        guard role == .client, context.configuration.sessionCache != nil, observer.ticketsReceived == 0 else { return false }
        guard isSessionReused, let session = SSL_get_session(ssl) else { return true }
        return TicketRenewal.isDue(session)
    }

    /// Server, once the ClientHello is processed: a resumed handshake whose ticket is not due
    /// for renewal, and was encrypted under the current ticket key, gets no new ticket (the
    /// client keeps reusing the one it presented).
    func decideTicketsAfterClientHello() {
        guard role == .server, !ticketsDecided, isSessionReused else { return }
        ticketsDecided = true
        if let session = SSL_get_session(ssl), !TicketRenewal.isDue(session), !presentedTicketUnderOlderKey {
            SSL_set_num_tickets(ssl, 0)
        }
    }
}
