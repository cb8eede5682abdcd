import MeshgateLoop
import MeshgateNames
import MeshgateProxy
import MeshgateTLS
import MeshgateWire

/// The benchmark's own copy of the route table: one slot per route. A change replaces one
/// slot's route by a route with a new key (one route removed, one added: the new one gets a new
/// listener, the removed one's listener closes) and gives another slot's route the other set of
/// gateways (same key and listener, new route object). The array handed to `publish` is this
/// one, mutated in place before the clock starts, so building it is not measured.
struct BenchRouteTable {
    /// Routes by slot, as published.
    private(set) var routes: [GatewayRoute]
    /// Route number (the key derives from it) and gateway variant by slot.
    private var ids: [Int]
    private var variants: [Int]
    /// The port each slot's route listens on, from the publish reports.
    private(set) var ports: [UInt16]
    private var nextID: Int
    private let identity: WorkloadIdentity
    private let gatewaySets: [[SocketAddress]]

    /// What one change does, for checking its report and the final verification.
    struct Change {
        let number: Int
        let replacedSlot: Int
        let addedKey: String
        let removedKey: String
        let removedPort: UInt16
        let modifiedSlot: Int
        let modifiedKey: String
    }

    /// `count` routes to the remote gateways `gateways` (variant 0) or `alternate` (variant 1),
    /// all expecting `identity`.
    init(count: Int, identity: WorkloadIdentity, gateways: [SocketAddress], alternate: [SocketAddress]) {
        self.identity = identity
        gatewaySets = [gateways, alternate]
        ids = Array(0..<count)
        variants = Array(repeating: 0, count: count)
        ports = Array(repeating: 0, count: count)
        nextID = count
        routes = []
        routes.reserveCapacity(count)
        for i in 0..<count { routes.append(Self.route(id: i, gateways: gatewaySets[0], identity: identity)) }
    }

    var count: Int { routes.count }

    static func key(id: Int) -> String { "bench-\(id % 64)/svc-\(id):8080" }

    /// What every route asks the remote gateway for: the one service the benchmark exports.
    static let target = ConnectTarget(namespace: BenchPKI.namespace, name: "echo", port: 8080)

    private static func route(id: Int, gateways: [SocketAddress], identity: WorkloadIdentity) -> GatewayRoute {
        GatewayRoute(
            key: key(id: id), cluster: "west", gateways: gateways, expectedIdentity: identity,
            target: ConnectTarget(namespace: target.namespace, name: target.name, port: target.port))
    }

    /// Records where every route listens after the initial publish; returns problems found.
    mutating func recordInitial(_ report: PublishReport) -> [String] {
        var problems: [String] = []
        for slot in routes.indices {
            guard let address = report.listening[routes[slot].key] else {
                problems.append("route \(routes[slot].key) has no listener: \(report.failed[routes[slot].key] ?? "not reported")")
                continue
            }
            ports[slot] = address.port
        }
        return problems
    }

    /// Applies change `number` to the table (not yet published).
    mutating func makeChange(_ number: Int) -> Change {
        let n = routes.count
        // A stride coprime with n walks every slot before repeating; the modified slot is far away.
        let slot = Int((UInt64(number) &* 7919) % UInt64(n))
        let removedKey = routes[slot].key
        let removedPort = ports[slot]
        let id = nextID
        nextID += 1
        ids[slot] = id
        variants[slot] = 0
        routes[slot] = Self.route(id: id, gateways: gatewaySets[0], identity: identity)
        let modified = (slot + n / 2) % n
        variants[modified] ^= 1
        routes[modified] = Self.route(id: ids[modified], gateways: gatewaySets[variants[modified]], identity: identity)
        return Change(number: number, replacedSlot: slot, addedKey: routes[slot].key, removedKey: removedKey,
                      removedPort: removedPort, modifiedSlot: modified, modifiedKey: routes[modified].key)
    }

    /// Checks a change's report (an `update`, so it lists the routes it touched): nothing
    /// failed, the new route listens, the modified one kept its port (ports are stable), the
    /// removed one is gone, the table size is right. Records the new route's port.
    mutating func record(_ change: Change, _ report: PublishReport, tableSize: Int) -> [String] {
        var problems: [String] = []
        if !report.failed.isEmpty {
            let some = report.failed.prefix(3).map { "\($0.key): \($0.value)" }.joined(separator: "; ")
            problems.append("change \(change.number): \(report.failed.count) route(s) left out: \(some)")
        }
        if let address = report.listening[change.addedKey] {
            ports[change.replacedSlot] = address.port
        } else {
            problems.append("change \(change.number): the added route \(change.addedKey) has no listener")
        }
        if report.listening[change.removedKey] != nil {
            problems.append("change \(change.number): the removed route \(change.removedKey) still listens")
        }
        if let address = report.listening[change.modifiedKey], address.port != ports[change.modifiedSlot] {
            problems.append("change \(change.number): \(change.modifiedKey) moved from port \(ports[change.modifiedSlot]) to \(address.port) when only its gateways changed")
        }
        if tableSize != routes.count {
            problems.append("change \(change.number): the table holds \(tableSize) routes, expected \(routes.count)")
        }
        return problems
    }
}
