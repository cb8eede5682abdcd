import Foundation
import NIOConcurrencyHelpers

/// The bearer token of a ``KubeClientConfig/Auth``: fixed, or read from a file and re-read when
/// the file's modification time, size or inode changes (checked at most once a second).
final class KubeTokenSource: Sendable {
    private struct FileState {
        var token: String?
        var stamp: [Int] = []
        var checkedAt: ContinuousClock.Instant?
    }

    private let fixed: String?
    private let path: String?
    private let state = NIOLockedValueBox(FileState())

    init(auth: KubeClientConfig.Auth) {
        switch auth {
        case .token(let token):
            fixed = token
            path = nil
        case .tokenFile(let file):
            fixed = nil
            path = file
        case .none, .clientCertificate:
            fixed = nil
            path = nil
        }
    }

    /// The current token, or nil (no token auth, or the file cannot be read and never could).
    func token(now: ContinuousClock.Instant = .now) -> String? {
        if let fixed { return fixed }
        guard let path else { return nil }
        return state.withLockedValue { s in
            if let at = s.checkedAt, now - at < .seconds(1), s.token != nil { return s.token }
            s.checkedAt = now
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return s.token }
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            let stamp = [
                Int(modified * 1_000_000), (attributes[.size] as? Int) ?? -1,
                (attributes[.systemFileNumber] as? Int) ?? -1,
            ]
            if stamp == s.stamp, s.token != nil { return s.token }
            guard let data = FileManager.default.contents(atPath: path) else { return s.token }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if !text.isEmpty {
                s.token = text
                s.stamp = stamp
            }
            return s.token
        }
    }
}
