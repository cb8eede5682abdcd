import MeshgateTestKit
import MeshgateWire

/// Random valid headers, covering the extremes of every field (1- and 63-byte labels, 512-byte
/// identities, port 1 and 65535, nonces 0 and UInt64.max).
struct HeaderGenerator {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    private static let labelBytes = Array("abcdefghijklmnopqrstuvwxyz0123456789-".utf8)
    private static let identityBytes = (UInt8(0x21)...UInt8(0x7E)).map { $0 }

    mutating func header() -> TransportHeader {
        switch Int.random(in: 0..<11, using: &rng) {
        case 10:
            return .pooled
        case 0..<6:
            let target = ConnectTarget(namespace: label(), name: label(), port: port())
            return .connect(target, clientIdentity: Bool.random(using: &rng) ? identity() : nil)
        case 6..<8:
            let options: DiscoverOptions = Bool.random(using: &rng) ? [] : DiscoverOptions(rawValue: UInt8.random(in: 1...255, using: &rng))
            return .discover(cluster: label(), options: options)
        default:
            let nonce: UInt64
            switch Int.random(in: 0..<8, using: &rng) {
            case 0: nonce = 0
            case 1: nonce = .max
            default: nonce = rng.next()
            }
            return .probe(nonce: nonce)
        }
    }

    /// A DNS label: usually short, sometimes 1 or 63 bytes; inner bytes may be '-'.
    mutating func label() -> String {
        let length: Int
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: length = 1
        case 1: length = 63
        default: length = Int.random(in: 1...20, using: &rng)
        }
        var bytes: [UInt8] = []
        for index in 0..<length {
            let edge = index == 0 || index == length - 1
            let pool = edge ? Self.labelBytes.dropLast() : Self.labelBytes[...]
            bytes.append(pool.randomElement(using: &rng)!)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func port() -> UInt16 {
        switch Int.random(in: 0..<8, using: &rng) {
        case 0: return 1
        case 1: return .max
        default: return UInt16.random(in: 1...UInt16.max, using: &rng)
        }
    }

    /// A SPIFFE id or DNS name, or (rarely) arbitrary printable ASCII up to 512 bytes.
    mutating func identity() -> String {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0..<5:
            return "spiffe://\(label()).mesh/ns/\(label())/sa/\(label())"
        case 5..<7:
            return "\(label()).\(label()).svc.cluster.local"
        default:
            let length = Int.random(in: 0..<4, using: &rng) == 0 ? 512 : Int.random(in: 1...512, using: &rng)
            let bytes = (0..<length).map { _ in Self.identityBytes.randomElement(using: &rng)! }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    mutating func bytes(count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }
}
