import Atomics
import Foundation
import Logging
import MeshgateNames
import MeshgateTLS
import MeshgateWire

/// Serves `discover` streams: a loop hands over the connection once it has read the header, and
/// the stream runs on its own thread from then on. Each stream gets a snapshot of the services
/// this gateway exports to the asking peer (exported, and allowed for the peer's identity), then
/// the changes as the registry is reloaded, then keepalives (docs/wire.md, "The discover stream").
/// A mirror that asked for port names (`DiscoverOptions.portNames`) gets `upsertNamed` frames,
/// every other one plain `upsert` frames.
public final class DiscoveryServer: Sendable {
    /// The route-table channel whose snapshots carry the services.
    public let publisher: RouteTablePublisher
    /// A keepalive goes out after this long without another frame.
    public let keepaliveInterval: Duration
    /// A peer that does not take a frame within this long is dropped.
    public let writeTimeout: Duration
    /// Streams served at once at most; more are refused.
    public let maxStreams: Int
    /// Who may ask, and how many streams each identity may hold.
    public let policy: DiscoverPolicy

    /// How often a waiting stream looks for input from its peer: a mirror sends nothing after
    /// its header, so input is its close or junk, and either ends the stream within this long.
    static let inputCheckInterval: Duration = .milliseconds(50)

    private let logger: Logger
    private let refusalLog: RateLimitedLog
    private let active = ManagedAtomic<Int>(0)
    private let served = ManagedAtomic<Int>(0)
    private let refusedCounts: [ManagedAtomic<Int>] = DiscoverRefusal.allCases.map { _ in ManagedAtomic<Int>(0) }
    private let stopping = ManagedAtomic<Bool>(false)
    private let streams = NSLock()
    // Guarded by `streams`.
    nonisolated(unsafe) private var open: [ObjectIdentifier: TLSStream] = [:]
    // Guarded by `streams`: open streams per peer identity (SPIFFE URI; "" for none).
    nonisolated(unsafe) private var perPeer: [String: Int] = [:]

    /// A server over `publisher`'s snapshots.
    public init(
        publisher: RouteTablePublisher, logger: Logger, keepaliveInterval: Duration = .seconds(5),
        writeTimeout: Duration = .seconds(10), maxStreams: Int = 256, policy: DiscoverPolicy = DiscoverPolicy()
    ) {
        self.publisher = publisher
        self.logger = logger
        self.refusalLog = RateLimitedLog(logger: logger)
        self.keepaliveInterval = keepaliveInterval
        self.writeTimeout = writeTimeout
        self.maxStreams = maxStreams
        self.policy = policy
    }

    /// Streams being served now.
    public var activeStreams: Int { active.load(ordering: .relaxed) }
    /// Streams served since start (including active ones).
    public var streamsServed: Int { served.load(ordering: .relaxed) }
    /// Streams refused, for any reason.
    public var streamsRefused: Int { refusedCounts.reduce(0) { $0 + $1.load(ordering: .relaxed) } }
    /// Streams refused, by reason key (`DiscoverRefusal.key`).
    public var refusals: [String: Int] {
        Dictionary(uniqueKeysWithValues: DiscoverRefusal.allCases.map { ($0.key, refusedCounts[$0.rawValue].load(ordering: .relaxed)) })
    }

    /// The refusals as counters for `/status` and `/metrics`: `gateway_refused_discover_<reason>`
    /// (not part of `gateway_refused`, which counts the loops' refusals).
    public var refusalCounters: [String: UInt64] {
        var out: [String: UInt64] = [:]
        for r in DiscoverRefusal.counted {
            out[r.counterKey] = UInt64(refusedCounts[r.rawValue].load(ordering: .relaxed))
        }
        return out
    }

    /// Why `peer` may not ask as `cluster`, or nil when it may (before any limit).
    public func refusal(peer: WorkloadIdentity?, cluster: String) -> DiscoverRefusal? {
        guard let peer else { return .notGateway }
        if let own = peer.gatewayCluster {
            return own == cluster ? nil : .clusterMismatch
        }
        return policy.allow == .any ? nil : .notGateway
    }

    /// Takes over `stream` (a peer that sent `discover(cluster:options:)`) and serves it on a new thread.
    /// A peer the policy refuses, one over its own limit or over `maxStreams`, and any stream
    /// while stopping, is reset at once (logged once a second per reason).
    public func serve(_ stream: TLSStream, cluster: String, options: DiscoverOptions = []) {
        let peer = stream.peerIdentity
        let key = peer?.spiffeURI ?? ""
        var refused = refusal(peer: peer, cluster: cluster)
        if refused == nil {
            streams.lock()
            if stopping.load(ordering: .acquiring) {
                refused = .stopping
            } else if open.count >= maxStreams {
                refused = .limit
            } else if perPeer[key, default: 0] >= policy.perIdentity {
                refused = .perIdentityLimit
            } else {
                open[ObjectIdentifier(stream)] = stream
                perPeer[key, default: 0] += 1
                active.wrappingIncrement(ordering: .acquiringAndReleasing)
            }
            streams.unlock()
        }
        if let refused {
            refusedCounts[refused.rawValue].wrappingIncrement(ordering: .relaxed)
            if refused != .stopping {
                let who = peer?.description ?? "no identity"
                let why: String
                switch refused {
                case .notGateway: why = "not a gateway identity (inbound.discover.allow: \(policy.allow.rawValue))"
                case .clusterMismatch: why = "a gateway identity of cluster \(peer?.gatewayCluster ?? "?") may only ask as that cluster"
                case .perIdentityLimit: why = "\(policy.perIdentity) streams of this identity are open (inbound.discover.perIdentity)"
                case .limit, .stopping: why = "\(maxStreams) streams are open"
                }
                refusalLog.warning(
                    "discover-\(refused.key)", "discover stream from \(who) asking as cluster \(cluster) refused (\(refused.key)): \(why)")
            }
            stream.reset()
            return
        }
        served.wrappingIncrement(ordering: .relaxed)
        let thread = Thread { [self] in
            run(stream, cluster: cluster, peer: peer, named: options.contains(.portNames))
            streams.lock()
            open.removeValue(forKey: ObjectIdentifier(stream))
            if let n = perPeer[key], n > 1 { perPeer[key] = n - 1 } else { perPeer.removeValue(forKey: key) }
            streams.unlock()
            active.wrappingDecrement(ordering: .acquiringAndReleasing)
        }
        thread.name = "discover-\(cluster)"
        thread.start()
    }

    /// Ends every stream and refuses new ones: each stream's thread closes it cleanly (TLS
    /// close_notify) within `grace`; a stream still blocked after that is cut.
    public func stop(grace: Duration = .milliseconds(500)) {
        stopping.store(true, ordering: .releasing)
        publisher.wakeWaiters()
        let deadline = ContinuousClock.now + grace
        while active.load(ordering: .acquiring) > 0 && ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        streams.lock()
        let all = Array(open.values)
        streams.unlock()
        for s in all { s.interrupt() }
    }

    /// The services `peer` may see, as discovery describes them, by `namespace/name`; with
    /// `named`, with their ports' names (else every name is ""). A name that is not a `PortName`
    /// (a Kubernetes Service port may carry a longer DNS label) or that an earlier port of the
    /// service already has is sent as "" (unnamed).
    public static func visible(_ snapshot: GatewaySnapshot, to peer: WorkloadIdentity?, named: Bool = false) -> [String: DiscoveredService] {
        var out: [String: DiscoveredService] = [:]
        for (key, s) in snapshot.services where s.exported && s.allows(peer) {
            let ports = Array(s.endpoints.keys.sorted().prefix(DiscoveryMessage.maxPortsPerService))
            var names: [String] = []
            if named {
                var used = Set<String>()
                for port in ports {
                    let name = s.portNames[port] ?? ""
                    names.append(!name.isEmpty && PortName.isValid(name) && used.insert(name).inserted ? name : "")
                }
            }
            out[key] = DiscoveredService(namespace: s.namespace, name: s.name, ports: ports, portNames: names)
        }
        return out
    }

    private func run(_ stream: TLSStream, cluster: String, peer: WorkloadIdentity?, named: Bool) {
        defer { stream.close() }
        var snapshot = publisher.snapshot
        var sent = Self.visible(snapshot, to: peer, named: named)
        var frames: [UInt8] = []
        func add(_ m: DiscoveryMessage) {
            // Registry names are labels and ports are checked when the registry is read; a
            // service that still does not encode is left out rather than ending the stream.
            if let bytes = try? m.encoded() { frames += bytes }
        }
        // `visible` sends only valid names; should a service still not encode with names, it goes
        // out without them rather than not at all.
        func upsert(_ s: DiscoveredService) {
            if named, let bytes = try? DiscoveryMessage.upsertNamed(s).encoded() { frames += bytes } else { add(.upsert(s)) }
        }
        add(.snapshotBegin(generation: snapshot.generation))
        for key in sent.keys.sorted() { upsert(sent[key]!) }
        add(.snapshotEnd(generation: snapshot.generation))
        logger.info(
            "discover stream from \(cluster) (\(peer?.description ?? "?"))\(named ? " with port names" : ""): \(sent.count) service(s) in the snapshot")
        do {
            try stream.write(frames, deadline: .now + writeTimeout)
            var keepaliveDue = ContinuousClock.now + keepaliveInterval
            while !stopping.load(ordering: .acquiring) {
                // Waits in short slices so that input is seen at once, not at the next keepalive.
                let next = publisher.waitForSnapshot(
                    after: snapshot.generation, timeout: min(Self.inputCheckInterval, max(.zero, keepaliveDue - .now)))
                if stream.hasInput {
                    // A mirror sends nothing after its header: input is its close, or junk.
                    let bytes = try stream.read(max: 64, deadline: .now + .milliseconds(100))
                    if bytes.isEmpty {
                        logger.info("discover stream from \(cluster) closed by the peer")
                        return
                    }
                    refusalLog.warning(
                        "discover-junk", "discover stream from \(cluster) (\(peer?.description ?? "?")): bytes from the peer after its header; reset")
                    stream.reset()
                    return
                }
                if next.generation == snapshot.generation && ContinuousClock.now < keepaliveDue { continue }
                keepaliveDue = ContinuousClock.now + keepaliveInterval
                frames.removeAll(keepingCapacity: true)
                if next.generation != snapshot.generation {
                    snapshot = next
                    let now = Self.visible(snapshot, to: peer, named: named)
                    for key in sent.keys.sorted() where now[key] == nil {
                        let s = sent[key]!
                        add(.remove(namespace: s.namespace, name: s.name))
                    }
                    for key in now.keys.sorted() where now[key] != sent[key] { upsert(now[key]!) }
                    sent = now
                }
                if frames.isEmpty { add(.keepalive) }
                try stream.write(frames, deadline: .now + writeTimeout)
            }
        } catch {
            if !stopping.load(ordering: .acquiring) {
                refusalLog.warning("discover-ended", "discover stream from \(cluster) ended: \(error)")
                // A broken stream (junk that is not TLS, a peer that stopped reading) ends with a reset.
                stream.reset()
            }
        }
    }
}

/// Why a discover stream was refused (counted per reason, logged once a second per reason).
public enum DiscoverRefusal: Int, CaseIterable, Sendable {
    /// The peer is not a gateway identity and `inbound.discover.allow` is `gateways`.
    case notGateway
    /// A gateway identity asked as another cluster than its own.
    case clusterMismatch
    /// The peer already holds `inbound.discover.perIdentity` streams.
    case perIdentityLimit
    /// `maxStreams` streams are open.
    case limit
    /// The server is stopping.
    case stopping

    /// The reasons that are counted in `/status` (stopping is not a refusal of the peer).
    public static let counted: [DiscoverRefusal] = [.notGateway, .clusterMismatch, .perIdentityLimit, .limit]

    /// The counter in `/status`: `gateway_refused_discover_<key>`.
    public var counterKey: String { "gateway_refused_discover_\(key)" }

    /// The reason as logs and counters spell it.
    public var key: String {
        switch self {
        case .notGateway: "not_gateway"
        case .clusterMismatch: "cluster_mismatch"
        case .perIdentityLimit: "per_identity_limit"
        case .limit: "limit"
        case .stopping: "stopping"
        }
    }
}
