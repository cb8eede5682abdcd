import Atomics
import Foundation
import Logging
import MeshgateTLS
import MeshgateWire

/// Serves `discover` streams: a loop hands over the connection once it has read the header, and
/// the stream runs on its own thread from then on. Each stream gets a snapshot of the services
/// this gateway exports to the asking peer (exported, and allowed for the peer's identity), then
/// the changes as the registry is reloaded, then keepalives (docs/wire.md, "The discover stream").
public final class DiscoveryServer: Sendable {
    /// The route-table channel whose snapshots carry the services.
    public let publisher: RouteTablePublisher
    /// A keepalive goes out after this long without another frame.
    public let keepaliveInterval: Duration
    /// A peer that does not take a frame within this long is dropped.
    public let writeTimeout: Duration
    /// Streams served at once at most; more are refused.
    public let maxStreams: Int

    private let logger: Logger
    private let active = ManagedAtomic<Int>(0)
    private let served = ManagedAtomic<Int>(0)
    private let refused = ManagedAtomic<Int>(0)
    private let stopping = ManagedAtomic<Bool>(false)
    private let streams = NSLock()
    nonisolated(unsafe) private var open: [ObjectIdentifier: TLSStream] = [:]

    /// A server over `publisher`'s snapshots.
    public init(
        publisher: RouteTablePublisher, logger: Logger, keepaliveInterval: Duration = .seconds(5),
        writeTimeout: Duration = .seconds(10), maxStreams: Int = 256
    ) {
        self.publisher = publisher
        self.logger = logger
        self.keepaliveInterval = keepaliveInterval
        self.writeTimeout = writeTimeout
        self.maxStreams = maxStreams
    }

    /// Streams being served now.
    public var activeStreams: Int { active.load(ordering: .relaxed) }
    /// Streams served since start (including active ones).
    public var streamsServed: Int { served.load(ordering: .relaxed) }
    /// Streams refused because `maxStreams` were open.
    public var streamsRefused: Int { refused.load(ordering: .relaxed) }

    /// Takes over `stream` (a peer that sent `discover(cluster:)`) and serves it on a new thread.
    /// Over the limit, or while stopping, the stream is reset at once.
    public func serve(_ stream: TLSStream, cluster: String) {
        let peer = stream.peerIdentity
        guard !stopping.load(ordering: .acquiring),
            active.wrappingIncrementThenLoad(ordering: .acquiringAndReleasing) <= maxStreams
        else {
            active.wrappingDecrement(ordering: .acquiringAndReleasing)
            refused.wrappingIncrement(ordering: .relaxed)
            logger.warning("discover stream from \(cluster) (\(peer?.description ?? "?")) refused: \(maxStreams) streams open")
            stream.reset()
            return
        }
        served.wrappingIncrement(ordering: .relaxed)
        streams.lock()
        open[ObjectIdentifier(stream)] = stream
        streams.unlock()
        let thread = Thread { [self] in
            run(stream, cluster: cluster, peer: peer)
            streams.lock()
            open.removeValue(forKey: ObjectIdentifier(stream))
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

    /// The services `peer` may see, as discovery describes them, by `namespace/name`.
    public static func visible(_ snapshot: GatewaySnapshot, to peer: TLSIdentity?) -> [String: DiscoveredService] {
        var out: [String: DiscoveredService] = [:]
        for (key, s) in snapshot.services where s.exported && s.allows(peer) {
            let ports = s.endpoints.keys.sorted().prefix(DiscoveryMessage.maxPortsPerService)
            out[key] = DiscoveredService(namespace: s.namespace, name: s.name, ports: Array(ports))
        }
        return out
    }

    private func run(_ stream: TLSStream, cluster: String, peer: TLSIdentity?) {
        defer { stream.close() }
        var snapshot = publisher.snapshot
        var sent = Self.visible(snapshot, to: peer)
        var frames: [UInt8] = []
        func add(_ m: DiscoveryMessage) {
            // Registry names are labels and ports are checked when the registry is read; a
            // service that still does not encode is left out rather than ending the stream.
            if let bytes = try? m.encoded() { frames += bytes }
        }
        add(.snapshotBegin(generation: snapshot.generation))
        for key in sent.keys.sorted() { add(.upsert(sent[key]!)) }
        add(.snapshotEnd(generation: snapshot.generation))
        logger.info("discover stream from \(cluster) (\(peer?.description ?? "?")): \(sent.count) service(s) in the snapshot")
        do {
            try stream.write(frames, deadline: .now + writeTimeout)
            while !stopping.load(ordering: .acquiring) {
                let next = publisher.waitForSnapshot(after: snapshot.generation, timeout: keepaliveInterval)
                if stream.hasInput {
                    // A mirror sends nothing after its header: input is its close (or garbage).
                    let bytes = try stream.read(max: 64, deadline: .now + .milliseconds(100))
                    if bytes.isEmpty {
                        logger.info("discover stream from \(cluster) closed by the peer")
                        return
                    }
                    logger.warning("discover stream from \(cluster): unexpected bytes from the peer; closing")
                    return
                }
                frames.removeAll(keepingCapacity: true)
                if next.generation != snapshot.generation {
                    snapshot = next
                    let now = Self.visible(snapshot, to: peer)
                    for key in sent.keys.sorted() where now[key] == nil {
                        let s = sent[key]!
                        add(.remove(namespace: s.namespace, name: s.name))
                    }
                    for key in now.keys.sorted() where now[key] != sent[key] { add(.upsert(now[key]!)) }
                    sent = now
                }
                if frames.isEmpty { add(.keepalive) }
                try stream.write(frames, deadline: .now + writeTimeout)
            }
        } catch {
            if !stopping.load(ordering: .acquiring) {
                logger.warning("discover stream from \(cluster) ended: \(error)")
            }
        }
    }
}
