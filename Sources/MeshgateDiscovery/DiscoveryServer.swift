import Atomics
import Foundation
import Logging
import MeshgateNames
import MeshgateProxy
import MeshgateTLS
import MeshgateWire

/// Serves `discover` streams: a loop hands over the connection once it has read the header, and
/// the stream runs on its own thread from then on. Which streams it takes is its
/// `DiscoverServerSession.Admission`; what each stream carries is its `DiscoverServerSession`
/// (a snapshot, the changes as the registry is reloaded, keepalives); when it may announce a
/// generation is its `DiscoverServerSession.AnnounceGate` (once every proxy loop runs it). This
/// class does the I/O: threads, waiting on the publisher and the peer, writing, and ending streams.
public final class DiscoveryServer: DiscoverStreamHandler {
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
    /// How long a stream holds back a generation the proxy loops do not all run yet, at most.
    public let announceBound: Duration

    /// How often a waiting stream looks for input from its peer: a mirror sends nothing after
    /// its header, so input is its close or junk, and either ends the stream within this long.
    static let inputCheckInterval: Duration = .milliseconds(50)

    private let logger: Logger
    private let refusalLog: RateLimitedLog
    private let active = ManagedAtomic<Int>(0)
    private let served = ManagedAtomic<Int>(0)
    private let refusedCounts: [ManagedAtomic<Int>] = DiscoverRefusal.allCases.map { _ in ManagedAtomic<Int>(0) }
    private let stopping = ManagedAtomic<Bool>(false)
    private let late = ManagedAtomic<Int>(0)
    private let streams = NSLock()
    // Guarded by `streams`.
    nonisolated(unsafe) private var open: [ObjectIdentifier: TLSStream] = [:]
    // Guarded by `streams`.
    nonisolated(unsafe) private var admission: DiscoverServerSession.Admission

    /// A server over `publisher`'s snapshots.
    public init(
        publisher: RouteTablePublisher, logger: Logger, keepaliveInterval: Duration = .seconds(5),
        writeTimeout: Duration = .seconds(10), maxStreams: Int = 256, policy: DiscoverPolicy = DiscoverPolicy(),
        announceBound: Duration = .seconds(2)
    ) {
        self.publisher = publisher
        self.logger = logger
        self.refusalLog = RateLimitedLog(logger: logger)
        self.keepaliveInterval = keepaliveInterval
        self.writeTimeout = writeTimeout
        self.maxStreams = maxStreams
        self.policy = policy
        self.announceBound = announceBound
        admission = DiscoverServerSession.Admission(policy: policy, maxStreams: maxStreams)
    }

    /// Streams being served now.
    public var activeStreams: Int { active.load(ordering: .relaxed) }
    /// Streams served since start (including active ones).
    public var streamsServed: Int { served.load(ordering: .relaxed) }
    /// Streams refused, for any reason.
    public var streamsRefused: Int { refusedCounts.reduce(0) { $0 + $1.load(ordering: .relaxed) } }
    /// Announcements (opening snapshots and changes) that went out after `announceBound`
    /// although the proxy loops did not all run that generation yet.
    public var lateAnnouncements: Int { late.load(ordering: .relaxed) }
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

    /// Every counter of the discovery server for `/status` and `/metrics`: the refusals
    /// (``refusalCounters``) and `gateway_discover_late_announcements` (``lateAnnouncements``).
    public var counters: [String: UInt64] {
        refusalCounters.merging([Self.lateAnnouncementsKey: UInt64(lateAnnouncements)]) { $1 }
    }

    /// The counter name of ``lateAnnouncements``.
    public static let lateAnnouncementsKey = "gateway_discover_late_announcements"

    /// Takes over a stream a loop accepted (`DiscoverStreamHandler`) and serves it.
    public func takeOver(fd: Int32, tls: TLSConnection, peer: WorkloadIdentity?, cluster: String, options: DiscoverOptions) {
        serve(TLSStream(adopting: fd, tls: tls), peer: peer, cluster: cluster, options: options)
    }

    /// Takes over `stream` (a peer that sent `discover(cluster:options:)`) and serves it on a new thread.
    /// A peer the policy refuses, one over its own limit or over `maxStreams`, and any stream
    /// while stopping, is reset at once (logged once a second per reason).
    public func serve(_ stream: TLSStream, cluster: String, options: DiscoverOptions = []) {
        serve(stream, peer: stream.peerIdentity, cluster: cluster, options: options)
    }

    private func serve(_ stream: TLSStream, peer: WorkloadIdentity?, cluster: String, options: DiscoverOptions) {
        let refused: (reason: DiscoverRefusal, why: String)? = streams.withLock {
            guard let refused = admission.admit(peer: peer, cluster: cluster, stopping: stopping.load(ordering: .acquiring)) else {
                open[ObjectIdentifier(stream)] = stream
                active.wrappingIncrement(ordering: .acquiringAndReleasing)
                return nil
            }
            return (refused, admission.explanation(refused, peer: peer))
        }
        if let (refused, why) = refused {
            refusedCounts[refused.rawValue].wrappingIncrement(ordering: .relaxed)
            if refused != .stopping {
                let who = peer?.description ?? "no identity"
                refusalLog.warning(
                    "discover-\(refused.key)", "discover stream from \(who) asking as cluster \(cluster) refused (\(refused.key)): \(why)")
            }
            stream.reset()
            return
        }
        served.wrappingIncrement(ordering: .relaxed)
        let thread = Thread { [self] in
            run(stream, cluster: cluster, session: DiscoverServerSession(peer: peer, options: options))
            streams.withLock {
                open.removeValue(forKey: ObjectIdentifier(stream))
                admission.release(peer: peer)
            }
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
        let all = streams.withLock { Array(open.values) }
        for s in all { s.interrupt() }
    }

    /// Serves one admitted stream until the peer leaves, a write fails or the server stops:
    /// writes what `session` says once the gate lets it, and reads the peer only to see it leave.
    private func run(_ stream: TLSStream, cluster: String, session: DiscoverServerSession) {
        defer { stream.close() }
        var session = session
        var gate = DiscoverServerSession.AnnounceGate(bound: announceBound)
        var opened = false
        let who = session.peer?.description ?? "?"
        do {
            var keepaliveDue = ContinuousClock.now + keepaliveInterval
            while !stopping.load(ordering: .acquiring) {
                let now = ContinuousClock.now
                let current = publisher.snapshot
                let due = opened && now >= keepaliveDue
                var frames: [UInt8]? = due ? DiscoverServerSession.keepalive : nil
                var heldUntil: ContinuousClock.Instant? = nil
                if !opened || current.generation != session.generation {
                    switch gate.decide(generation: current.generation, appliedByAllLoops: publisher.appliedByAllLoops, now: now) {
                    case .hold(let until):
                        heldUntil = until
                    case .announce(let late):
                        if late { noteLate(cluster: cluster, generation: current.generation) }
                        if opened {
                            frames = session.frames(generation: current.generation, services: current.services.values, keepaliveDue: due)
                        } else {
                            frames = session.opening(generation: current.generation, services: current.services.values)
                            opened = true
                            logger.info(
                                "discover stream from \(cluster) (\(who))\(session.named ? " with port names" : ""): \(session.sent.count) service(s) in the snapshot")
                        }
                    }
                }
                if let frames {
                    try stream.write(frames, deadline: .now + writeTimeout)
                    keepaliveDue = ContinuousClock.now + keepaliveInterval
                }
                // Waits in short slices so that input is seen at once, not at the next keepalive:
                // for the loops to run a held-back generation, else for a newer one.
                var slice = opened ? min(Self.inputCheckInterval, max(.zero, keepaliveDue - .now)) : Self.inputCheckInterval
                if let heldUntil {
                    slice = min(slice, max(.zero, heldUntil - .now))
                    _ = publisher.waitUntilApplied(current.generation, timeout: slice)
                } else {
                    _ = publisher.waitForSnapshot(after: session.generation, timeout: slice)
                }
                if stream.hasInput {
                    switch DiscoverServerSession.input(try stream.read(max: 64, deadline: .now + .milliseconds(100))) {
                    case .closed:
                        logger.info("discover stream from \(cluster) closed by the peer")
                    case .junk:
                        refusalLog.warning(
                            "discover-junk", "discover stream from \(cluster) (\(who)): bytes from the peer after its header; reset")
                        stream.reset()
                    }
                    return
                }
            }
        } catch {
            if !stopping.load(ordering: .acquiring) {
                refusalLog.warning("discover-ended", "discover stream from \(cluster) ended: \(error)")
                // A broken stream (junk that is not TLS, a peer that stopped reading) ends with a reset.
                stream.reset()
            }
        }
    }

    /// Counts an announcement that went out before every loop ran its generation, and logs the
    /// first one (later ones are in `lateAnnouncements`).
    private func noteLate(cluster: String, generation: UInt64) {
        guard late.wrappingIncrementThenLoad(ordering: .relaxed) == 1 else { return }
        logger.warning(
            "discover stream to \(cluster): route-table generation \(generation) announced although the proxy loops did not all run it within \(announceBound) (a loop is stuck or slow; later such announcements are only counted)")
    }
}
