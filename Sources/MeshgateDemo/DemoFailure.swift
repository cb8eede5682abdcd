/// A failed demo step: what went wrong, and whose log explains it.
struct DemoFailure: Error, CustomStringConvertible {
    let description: String
    /// The log to show the tail of (a gateway's log), if any.
    var log: (name: String, path: String)? = nil

    init(_ description: String, log: (name: String, path: String)? = nil) {
        self.description = description
        self.log = log
    }
}

/// Ctrl-C (SIGINT) or SIGTERM arrived while a step was running.
struct DemoInterrupted: Error, CustomStringConvertible {
    var description: String { "interrupted" }
}
