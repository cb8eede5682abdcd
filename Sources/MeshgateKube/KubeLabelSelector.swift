/// A label selector: equality-based (`a=b`, `a==b`, `a!=b`) and set-based (`a in (x,y)`,
/// `a notin (x)`, `a`, `!a`) requirements joined by commas (all must hold), the grammar of
/// Kubernetes' `labels.Parse`. The empty selector matches everything.
///
/// ``description`` is the canonical text (requirements sorted by key, `=` for equality, values
/// sorted), sent as the `labelSelector` query parameter.
public struct KubeLabelSelector: Hashable, Sendable, CustomStringConvertible {
    /// One requirement on one key.
    public struct Requirement: Hashable, Sendable {
        /// The label key.
        public var key: String
        /// The operator.
        public var op: Operator
        /// The values (sorted, unique; empty for `exists`/`doesNotExist`).
        public var values: [String]
    }

    /// A requirement's operator.
    public enum Operator: Hashable, Sendable {
        /// `key=value` or `key==value`.
        case equals
        /// `key!=value` (also true when the label is absent).
        case notEquals
        /// `key in (a,b)`.
        case `in`
        /// `key notin (a,b)` (also true when the label is absent).
        case notIn
        /// `key`.
        case exists
        /// `!key`.
        case doesNotExist
    }

    /// The requirements, sorted by key.
    public private(set) var requirements: [Requirement]

    /// A selector from requirements.
    public init(requirements: [Requirement]) {
        self.requirements = requirements.sorted { ($0.key, $0.sortRank) < ($1.key, $1.sortRank) }
    }

    /// The selector `k1=v1,k2=v2` (every label in `matching` must be equal).
    public init(matching labels: [String: String]) {
        self.init(requirements: labels.map { Requirement(key: $0.key, op: .equals, values: [$0.value]) })
    }

    /// Parses selector text; errors say where and what.
    public static func parse(_ text: String) throws(KubeSelectorError) -> KubeLabelSelector {
        var parser = KubeSelectorParser(text)
        return KubeLabelSelector(requirements: try parser.parse())
    }

    /// Whether labels satisfy every requirement.
    public func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { $0.matches(labels) }
    }

    /// Whether the selector has no requirement (matches everything).
    public var isEmpty: Bool { requirements.isEmpty }

    /// The canonical text.
    public var description: String {
        requirements.map(\.description).joined(separator: ",")
    }
}

extension KubeLabelSelector.Requirement: CustomStringConvertible {
    /// Whether labels satisfy this requirement.
    public func matches(_ labels: [String: String]) -> Bool {
        let value = labels[key]
        switch op {
        case .equals, .in: return value.map { values.contains($0) } ?? false
        case .notEquals, .notIn: return value.map { !values.contains($0) } ?? true
        case .exists: return value != nil
        case .doesNotExist: return value == nil
        }
    }

    /// The requirement's canonical text.
    public var description: String {
        switch op {
        case .equals: return "\(key)=\(values.first ?? "")"
        case .notEquals: return "\(key)!=\(values.first ?? "")"
        case .in: return "\(key) in (\(values.joined(separator: ",")))"
        case .notIn: return "\(key) notin (\(values.joined(separator: ",")))"
        case .exists: return key
        case .doesNotExist: return "!\(key)"
        }
    }

    var sortRank: String { description }
}

/// A label selector that does not parse: `message` says what and at which character.
public struct KubeSelectorError: Error, CustomStringConvertible, Sendable, Hashable {
    /// What is wrong, e.g. `invalid label selector "a in (b": expected ")" at 9`.
    public var message: String

    /// An error with its message.
    public init(message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
