import ArgumentParser
import MeshgateNames

/// A duration flag in meshgate's one grammar (`DurationText`); the error names the flag.
func durationFlag(_ flag: String, _ text: String, positive: Bool = false) throws -> Duration {
    let d: Duration
    do { d = try DurationText.parse(text) } catch { throw ValidationError("--\(flag) \(error)") }
    if positive && d <= .zero { throw ValidationError("--\(flag) '\(text)': must be more than zero") }
    return d
}
