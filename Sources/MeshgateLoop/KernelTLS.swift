#if canImport(Glibc)
import Glibc
#endif
import CMeshgateShim

/// Kernel TLS on a connected TCP socket: probing, installing keys, and the non-data records
/// (alerts, session tickets, KeyUpdate) that a kTLS RX socket hands over one at a time. The
/// keys come as the kernel's `tls12_crypto_info_*` bytes (MeshgateTLS's `KTLSKeys.cryptoInfo`).
public enum KernelTLS {
    /// Whether this kernel can take TLS over (`TCP_ULP "tls"`), and why not.
    public enum Support: Equatable, Sendable {
        case available
        case unavailable(Errno)
    }

    /// Probes with an unconnected TCP socket: ENOENT means the kernel has no TLS ULP; a
    /// kernel that has it refuses an unconnected socket with ENOTCONN instead.
    public static func probe() -> Support {
        guard case .success(let fd) = Socket.makeStream(family: AF_INET) else {
            return .unavailable(Errno(rawValue: errno))
        }
        defer { Socket.close(fd) }
        if mg_ktls_attach(fd) == 0 { return .available }
        let e = errno
        return e == ENOTCONN || e == EISCONN ? .available : .unavailable(Errno(rawValue: e))
    }

    /// Attaches the TLS ULP and installs the TX keys. On failure nothing changed that
    /// matters: a ULP without keys passes bytes through untouched.
    public static func installTX(fd: Int32, cryptoInfo tx: [UInt8]) -> Errno? {
        if mg_ktls_attach(fd) != 0 { return Errno(rawValue: errno) }
        if tx.withUnsafeBytes({ mg_ktls_install(fd, 1, $0.baseAddress, UInt32($0.count)) }) != 0 {
            return Errno(rawValue: errno)
        }
        return nil
    }

    /// Installs the RX keys on a socket whose TX keys are in (the order the kernel allows).
    public static func installRX(fd: Int32, cryptoInfo rx: [UInt8]) -> Errno? {
        if rx.withUnsafeBytes({ mg_ktls_install(fd, 0, $0.baseAddress, UInt32($0.count)) }) != 0 {
            return Errno(rawValue: errno)
        }
        return nil
    }

    /// Sends close_notify (alert record, level warning, description 0). Returns 0, or the errno.
    public static func sendCloseNotify(fd: Int32) -> Int32 {
        var alert: (UInt8, UInt8) = (1, 0)
        let n = withUnsafeBytes(of: &alert) { mg_ktls_send_record(fd, 21, $0.baseAddress, 2) }
        return n == 2 ? 0 : (n < 0 ? errno : EAGAIN)
    }

    /// What a non-data record on a kTLS RX socket means for the stream.
    public enum ControlRecord: Equatable, Sendable {
        /// Nothing for the stream (a NewSessionTicket): read on.
        case ignored
        /// close_notify: the peer's stream ended cleanly.
        case closeNotify
        /// The peer rotated its keys; the kernel (before ~6.14) cannot follow.
        case keyUpdate
        /// A fatal alert or anything unexpected: the connection is broken.
        case fatal(String)
        /// No record yet.
        case wouldBlock
        /// The socket failed or ended.
        case failed(Errno)
    }

    /// Reads the non-data record that made a read or splice fail (EIO / EINVAL) and classifies it.
    public static func readControlRecord(fd: Int32, scratch: UnsafeMutableRawBufferPointer) -> ControlRecord {
        var type: UInt8 = 0
        let n = mg_ktls_recv_record(fd, scratch.baseAddress, scratch.count, &type)
        if n < 0 {
            let e = errno
            return e == EAGAIN ? .wouldBlock : .failed(Errno(rawValue: e))
        }
        if n == 0 { return .failed(Errno(rawValue: ECONNRESET)) }
        let body = UnsafeRawBufferPointer(rebasing: scratch[0..<n])
        switch type {
        case 21:  // alert
            guard body.count >= 2 else { return .fatal("short alert record") }
            return body[1] == 0 ? .closeNotify : .fatal("alert \(body[1]) (level \(body[0]))")
        case 22:  // handshake messages: 4-byte headers (type, 24-bit length)
            var offset = 0
            var keyUpdate = false
            while offset + 4 <= body.count {
                let kind = body[offset]
                let length = Int(body[offset + 1]) << 16 | Int(body[offset + 2]) << 8 | Int(body[offset + 3])
                switch kind {
                case 4: break  // NewSessionTicket: the session is not resumable from the kernel path
                case 24: keyUpdate = true
                default: return .fatal("unexpected handshake message \(kind) after the handshake")
                }
                offset += 4 + length
            }
            return keyUpdate ? .keyUpdate : .ignored
        case 23:
            return .fatal("application data where a control record was expected")
        default:
            return .fatal("record type \(type)")
        }
    }
}
