/// Why an identity operation failed. The message is one line and names the file or value at
/// fault, so the command line can print it as is.
public struct IdentityError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kind of failure, for callers that act on it.
    public enum Code: Equatable, Sendable {
        /// A trust domain, cluster, namespace, service account or validity that is not acceptable.
        case invalidArgument
        /// A file that cannot be read (missing, permissions, a directory, too large).
        case unreadableFile
        /// A file that was read but does not hold what it should (not PEM, wrong key type, not a CA…).
        case invalidFile
        /// A private key that does not belong to its certificate.
        case keyMismatch
        /// An issuer that no anchor of its trust bundle signed.
        case untrusted
        /// A CA certificate that has expired (or is not valid yet), so it cannot sign.
        case expired
        /// An output file exists and overwriting was not asked for.
        case fileExists
        /// An output file or folder could not be written.
        case writeFailed
        /// Certificate construction failed inside swift-certificates or swift-crypto.
        case internalError
    }

    /// The kind of failure.
    public let code: Code
    /// The file concerned, when there is one.
    public let path: String?
    /// One line, naming the file or value.
    public let message: String

    /// An error of `code`; `message` should name `path` when there is one.
    public init(_ code: Code, path: String? = nil, _ message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

extension IdentityError {
    /// Runs `body`, turning any error it throws into an ``IdentityError`` of `code` whose
    /// message is `context: <underlying error>`.
    static func wrapping<T>(
        _ code: Code, path: String? = nil, _ context: @autoclosure () -> String, _ body: () throws -> T
    ) throws(IdentityError) -> T {
        do {
            return try body()
        } catch let error as IdentityError {
            throw error
        } catch {
            throw IdentityError(code, path: path, "\(context()): \(error)")
        }
    }
}
