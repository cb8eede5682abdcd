import MeshgateTLS

/// How one direction of one side carries its bytes: plain TCP, or TLS in exactly one place.
/// "At most one of OpenSSL, the record layer or the kernel per end" is this type.
enum Transport {
    /// Plain TCP.
    case plain
    /// TLS through OpenSSL (`SSL_read`/`SSL_write` over memory BIOs): the handshake, and until
    /// the side can hand over (a client first reads a session ticket).
    case openSSL(TLSConnection)
    /// TLS records sealed and opened by meshgate's own record layer; the `SSL` object is gone.
    case records(TLSRecordLayer)
    /// TLS in the kernel (kTLS keys installed): bytes move like plain ones.
    case kernelTLS

    /// The kind, without the objects (for counting and logging).
    var mode: SideMode {
        switch self {
        case .plain: return .plain
        case .openSSL: return .openSSL
        case .records: return .records
        case .kernelTLS: return .kernelTLS
        }
    }

    /// True for plain TCP.
    @inline(__always)
    var isPlain: Bool {
        if case .plain = self { return true }
        return false
    }

    /// The OpenSSL connection, when this direction is in OpenSSL.
    @inline(__always)
    var openSSL: TLSConnection? {
        if case .openSSL(let tls) = self { return tls }
        return nil
    }

    /// The record layer, when this direction uses it.
    @inline(__always)
    var records: TLSRecordLayer? {
        if case .records(let layer) = self { return layer }
        return nil
    }

    /// True when the kernel carries this direction's TLS.
    @inline(__always)
    var isKernelTLS: Bool {
        if case .kernelTLS = self { return true }
        return false
    }
}

/// The kind of a `Transport`, without its objects.
enum SideMode: UInt8 {
    case plain, openSSL, records, kernelTLS
}

/// One side's two directions: it writes (TX) and reads (RX) each through a `Transport`. A TLS
/// side starts with both in OpenSSL; TX hands over right after the handshake (to the kernel or
/// the record layer), RX as soon as nothing TLS-level is left to read in OpenSSL. The `SSL`
/// object lives as long as either direction uses it.
struct SideTransport {
    var tx: Transport = .plain
    var rx: Transport = .plain

    /// Both directions in OpenSSL (a handshake begins).
    static func openSSL(_ tls: TLSConnection) -> SideTransport {
        SideTransport(tx: .openSSL(tls), rx: .openSSL(tls))
    }

    /// The OpenSSL connection while either direction still uses it.
    var openSSL: TLSConnection? { rx.openSSL ?? tx.openSSL }

    /// Plain TCP both ways.
    @inline(__always)
    var isPlain: Bool { tx.isPlain && rx.isPlain }

    /// The kernel carries either direction.
    var usesKernelTLS: Bool { tx.isKernelTLS || rx.isKernelTLS }
}
