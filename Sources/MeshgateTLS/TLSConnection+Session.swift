import COpenSSL

/// What a completed handshake agreed beyond the cipher suite: the key exchange, and how the
/// presented ticket stands.
extension TLSConnection {
    /// The key-exchange group of the handshake, e.g. `x25519` or `secp256r1`; nil before one was
    /// negotiated. A resumed handshake names one too: meshgate resumes with `psk_dhe_ke` only,
    /// so every connection has its own (EC)DHE secret (forward secrecy).
    public var keyExchangeGroup: String? {
        let group = mg_SSL_get_negotiated_group(ssl)
        guard group != 0, let name = OBJ_nid2sn(group) else { return nil }
        return String(cString: name)
    }

    /// Server: the client resumed from a ticket encrypted under a key that no longer encrypts
    /// (an older key of the ``TLSTicketKeys`` ring): the ticket should be renewed.
    public var presentedTicketUnderOlderKey: Bool {
        role == .server && TicketKeyCallback.presentedTicketUnderOlderKey(ssl)
    }
}
