import COpenSSL

/// The plaintext side: reading, writing and close_notify.
extension TLSConnection {
    /// Decrypts buffered records into `buffer`. Drives an unfinished handshake first.
    public func readPlaintext(into buffer: UnsafeMutableRawBufferPointer) -> TLSReadResult {
        switch state {
        case .failed(let error): return error.code == .truncated ? .truncated : .failed(error)
        case .handshaking:
            switch handshake() {
            case .inProgress: return .needMoreInput
            case .failed(let error): return error.code == .truncated ? .truncated : .failed(error)
            case .complete: break
            }
        case .established: break
        }
        if receivedCloseNotify { return .closeNotify }
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return .bytes(0) }
        var count = 0
        ERR_clear_error()
        let rc = SSL_read_ex(ssl, base, buffer.count, &count)
        if rc == 1 {
            plaintextBytesRead += count
            return .bytes(count)
        }
        let result = SSLResult(ssl, returnCode: rc)
        switch result {
        case .wantRead, .wantWrite:
            return .needMoreInput
        case .zeroReturn:
            receivedCloseNotify = true
            return .closeNotify
        case .syscall, .ssl, .other:
            let error = fail(FailureClassifier.afterHandshake(result: result, errors: OpenSSLError.drainQueue()))
            return error.code == .truncated ? .truncated : .failed(error)
        }
    }

    /// Encrypts all of `bytes` into the outbound buffer (as many records as needed).
    public func writePlaintext(_ bytes: UnsafeRawBufferPointer) -> TLSWriteResult {
        switch state {
        case .failed(let error): return .failed(error)
        case .handshaking: return .failed(TLSError(.closed, "the handshake has not completed"))
        case .established: break
        }
        if sentCloseNotify { return .failed(TLSError(.closed, "close_notify already sent")) }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return .written(0) }
        var written = 0
        ERR_clear_error()
        let rc = SSL_write_ex(ssl, base, bytes.count, &written)
        if rc == 1 { return .written(written) }
        let result = SSLResult(ssl, returnCode: rc)
        return .failed(fail(FailureClassifier.afterHandshake(result: result, errors: OpenSSLError.drainQueue())))
    }

    /// Encrypts all of `bytes` into the outbound buffer.
    public func writePlaintext(_ bytes: [UInt8]) -> TLSWriteResult {
        bytes.withUnsafeBytes { writePlaintext($0) }
    }

    /// Puts close_notify into the outbound buffer (once). In TLS 1.3 this closes only this
    /// side's direction: the peer's data can still be read until its close_notify.
    public func shutdown() -> TLSShutdownResult {
        switch state {
        case .failed(let error): return .failed(error)
        case .handshaking: return .failed(TLSError(.closed, "the handshake has not completed"))
        case .established: break
        }
        if sentCloseNotify { return receivedCloseNotify ? .complete : .closeNotifySent }
        ERR_clear_error()
        let rc = SSL_shutdown(ssl)
        if rc < 0 {
            let result = SSLResult(ssl, returnCode: rc)
            return .failed(fail(FailureClassifier.afterHandshake(result: result, errors: OpenSSLError.drainQueue())))
        }
        sentCloseNotify = true
        return receivedCloseNotify ? .complete : .closeNotifySent
    }
}
