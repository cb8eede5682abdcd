import COpenSSL

/// One entry of OpenSSL's thread-local error queue, as a value.
public struct OpenSSLError: Hashable, Sendable, CustomStringConvertible {
    /// The packed error code (`ERR_get_error`).
    public let packedCode: UInt
    /// The library part of the code (`ERR_GET_LIB`), e.g. `ERR_LIB_SSL` (20).
    public let library: Int32
    /// The reason part of the code (`ERR_GET_REASON`), e.g. `SSL_R_NO_APPLICATION_PROTOCOL`.
    public let reason: Int32
    /// OpenSSL's text for the reason, e.g. "no application protocol".
    public let reasonText: String

    init(packedCode: UInt) {
        self.packedCode = packedCode
        self.library = ERR_GET_LIB(packedCode)
        self.reason = ERR_GET_REASON(packedCode)
        if let text = ERR_reason_error_string(packedCode) {
            self.reasonText = String(cString: text)
        } else {
            self.reasonText = "reason \(ERR_GET_REASON(packedCode))"
        }
    }

    public var description: String {
        let lib = ERR_lib_error_string(packedCode).map { String(cString: $0) } ?? "lib \(library)"
        return "\(lib): \(reasonText)"
    }

    /// True for an alert received from the peer (OpenSSL reports it as reason 1000 + alert).
    var isAlertReceived: Bool {
        library == ERR_LIB_SSL && reason > SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256
    }

    /// Empties this thread's error queue, oldest entry first.
    static func drainQueue() -> [OpenSSLError] {
        var errors: [OpenSSLError] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { return errors }
            errors.append(OpenSSLError(packedCode: code))
        }
    }
}
