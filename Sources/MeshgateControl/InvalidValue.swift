/// Why a single value (an address, a duration, an identity…) is not acceptable.
///
/// The message is written to follow `file:line: field: `, e.g. `port 99999 out of range`.
public struct InvalidValue: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong, in words.
    public let message: String

    /// Creates an error with a message.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
