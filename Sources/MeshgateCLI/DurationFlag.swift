import ArgumentParser
import MeshgateNames

/// Reads a duration flag with the one grammar (`DurationText`); the error names the flag.
enum DurationFlag {
    /// The duration `text` given to `--<flag>`; with `positive`, zero is refused too.
    static func parse(_ flag: String, _ text: String, positive: Bool = false) throws -> Duration {
        let d: Duration
        do { d = try DurationText.parse(text) } catch { throw ValidationError("--\(flag) \(error)") }
        if positive && d <= .zero { throw ValidationError("--\(flag) '\(text)': must be more than zero") }
        return d
    }
}
