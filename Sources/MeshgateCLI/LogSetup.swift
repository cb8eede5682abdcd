import Logging

/// Logging set-up shared by the commands: swift-log to standard error, once per process.
enum LogSetup {
    private static let bootstrapped: Void = {
        LoggingSystem.bootstrap { label in StreamLogHandler.standardError(label: label) }
    }()

    static func logger(label: String, level: Logger.Level) -> Logger {
        _ = bootstrapped
        var l = Logger(label: label)
        l.logLevel = level
        return l
    }
}
