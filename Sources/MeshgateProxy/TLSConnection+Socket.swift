import MeshgateLoop
import MeshgateTLS

extension TLSConnection {
    /// Sends as much of the ciphertext OpenSSL has waiting as the non-blocking socket `fd`
    /// takes now, through the I/O funnel: the bytes sent, and the result of the send that
    /// stopped short (nil when everything went out). Used by the loops and by `TLSStream`.
    @inline(__always)
    @discardableResult
    public func sendOutbound(to fd: Int32) -> (sent: Int, stopped: IOResult?) {
        var stopped: IOResult? = nil
        let sent = sendOutbound { bytes in
            let result = SocketIO.send(fd, bytes.baseAddress, count: bytes.count)
            if case .moved(let n) = result { return n }
            stopped = result
            return 0
        }
        return (sent, stopped)
    }

    /// Ends the TLS stream cleanly before its socket is closed: queues close_notify and sends it,
    /// with whatever ciphertext waits, as far as `fd` takes it now (nothing waits for the peer's).
    public func sendCloseNotify(to fd: Int32) {
        _ = shutdown()
        sendOutbound(to: fd)
    }
}
