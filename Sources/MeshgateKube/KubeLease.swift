import Foundation

/// A coordination.k8s.io/v1 Lease, used for leader election.
public struct KubeLease: KubeResource {
    /// coordination.k8s.io/v1 leases.
    public static let kind = KubeKind(
        group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", namespaced: true)

    /// The object's metadata.
    public var metadata: KubeObjectMeta
    /// The lease record.
    public var spec: Spec

    /// A lease from its parts.
    public init(metadata: KubeObjectMeta, spec: Spec = Spec()) {
        self.metadata = metadata
        self.spec = spec
    }

    /// Decodes a Lease; a missing `spec` decodes as empty.
    public init(from decoder: any Decoder) throws {
        (metadata, spec) = try KubeObjectWithSpec.decode(from: decoder, empty: Spec())
    }

    /// `spec` of a Lease. Times are MicroTime text (``KubeMicroTime``).
    public struct Spec: Codable, Hashable, Sendable {
        /// Who holds the lease (`nil` or "": nobody).
        public var holderIdentity: String?
        /// How long a renewal is valid.
        public var leaseDurationSeconds: Int?
        /// When the current holder acquired it.
        public var acquireTime: String?
        /// When the holder last renewed it.
        public var renewTime: String?
        /// How many times the holder changed.
        public var leaseTransitions: Int?

        /// A spec from its parts.
        public init(
            holderIdentity: String? = nil, leaseDurationSeconds: Int? = nil, acquireTime: String? = nil,
            renewTime: String? = nil, leaseTransitions: Int? = nil
        ) {
            self.holderIdentity = holderIdentity
            self.leaseDurationSeconds = leaseDurationSeconds
            self.acquireTime = acquireTime
            self.renewTime = renewTime
            self.leaseTransitions = leaseTransitions
        }
    }
}

/// Kubernetes `MicroTime`: RFC 3339 with microseconds in UTC, "2006-01-02T15:04:05.000000Z".
public enum KubeMicroTime {
    /// Formats a date as MicroTime text.
    public static func format(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = seconds.rounded(.down)
        var micros = Int(((seconds - whole) * 1_000_000).rounded())
        if micros >= 1_000_000 {
            whole += 1
            micros -= 1_000_000
        }
        let t = gmtime(whole)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", t.year, t.month, t.day, t.hour, t.minute, t.second, micros)
    }

    /// Parses MicroTime or RFC 3339 text (any number of fraction digits, "Z" or a ±hh:mm offset).
    public static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for c in b[from..<(from + count)] {
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard b.count >= 20, let year = num(0, 4), b[4] == 45, let month = num(5, 2), b[7] == 45,
            let day = num(8, 2), b[10] == 84 || b[10] == 116, let hour = num(11, 2), b[13] == 58,
            let minute = num(14, 2), b[16] == 58, let second = num(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var fraction = 0.0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                fraction += Double(b[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        var offset = 0
        guard i < b.count else { return nil }
        if b[i] == 90 || b[i] == 122 {
            i += 1
        } else if b[i] == 43 || b[i] == 45, let oh = num(i + 1, 2), b.count > i + 3, b[i + 3] == 58,
            let om = num(i + 4, 2)
        {
            offset = (oh * 3600 + om * 60) * (b[i] == 43 ? 1 : -1)
            i += 6
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Double(days * 86_400 + hour * 3600 + minute * 60 + second - offset) + fraction
        return Date(timeIntervalSince1970: seconds)
    }

    private struct Civil {
        var year, month, day, hour, minute, second: Int
    }

    private static func gmtime(_ seconds: Double) -> Civil {
        let total = Int(seconds)
        var days = total / 86_400
        var rem = total % 86_400
        if rem < 0 {
            rem += 86_400
            days -= 1
        }
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return Civil(year: y, month: m, day: d, hour: rem / 3600, minute: rem % 3600 / 60, second: rem % 60)
    }

    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
