import Foundation
import Logging
import MeshgateDiscovery
import MeshgateLoop
import MeshgateProxy
import MeshgateTLS
import MeshgateWire

/// What a mirror knows of its linked cluster at one moment.
public struct MirrorState: Sendable, Equatable {
    /// The linked cluster's exported services by `namespace/name`, as last known.
    public var services: [String: DiscoveredService] = [:]
    /// A whole snapshot has arrived at least once (before that `services` is empty).
    public var synced = false
    /// The link is up: its gateway answered at least one of the last `failureThreshold` probes.
    public var alive = true
    /// The gateway addresses that answered the last probe round (all resolved ones until a
    /// round has answered); new connections use these.
    public var liveGateways: [SocketAddress] = []
    /// The last probe round trip (header sent to answer read).
    public var lastRoundTrip: Duration? = nil
    /// The discover stream is connected.
    public var streaming = false

    /// Equal in everything routes depend on and in `streaming`; `lastRoundTrip` changes with
    /// every probe and is left out, so that a probe alone is no change.
    public static func == (a: MirrorState, b: MirrorState) -> Bool {
        a.services == b.services && a.synced == b.synced && a.alive == b.alive && a.liveGateways == b.liveGateways
            && a.streaming == b.streaming
    }
}

/// How a mirror's probes and stream have been doing (for status and metrics; changes here do
/// not call `onChange`).
public struct MirrorHealth: Sendable, Equatable {
    /// Round trips of the most recent answered probes, oldest first (at most `MirrorHealth.keep`).
    public var recentRoundTrips: [Duration] = []
    /// Probes answered and failed since the mirror started (one per address and round).
    public var probesAnswered = 0
    public var probesFailed = 0
    /// Discover streams opened since the mirror started.
    public var streamsOpened = 0
    /// Imports refused since the mirror started: names another link holds (or a local one),
    /// services over `limits.services`, routes over `limits.routes`.
    public var conflicts = 0
    public var refusedServices = 0
    public var refusedRoutes = 0
    /// The last probe or stream failure or refused import, if any, and when it happened.
    public var lastError: String? = nil
    public var lastErrorAt: Date? = nil
    /// How many round trips are kept.
    public static let keep = 64

    /// The `q` quantile (0...1) of the recent round trips, nil when there are none.
    public func roundTrip(quantile q: Double) -> Duration? {
        guard !recentRoundTrips.isEmpty else { return nil }
        let sorted = recentRoundTrips.sorted()
        let i = min(sorted.count - 1, max(0, Int((q * Double(sorted.count - 1)).rounded())))
        return sorted[i]
    }
}

/// The service mirror of one link (docs/links.md, "The service mirror"): a discover stream to
/// the linked gateway that keeps `state.services` current, and probes that keep `state.alive`
/// and `state.liveGateways` current. Each runs on a thread of its own; a hung or dead peer delays nothing but this
/// mirror. Changes are reported through `onChange`, which must not block for long.
public final class LinkMirror: @unchecked Sendable {
    /// The bundle this mirror was started from.
    public let bundle: LinkBundle
    /// Probe timing and limits.
    public let settings: LinkSettings
    /// This cluster's name (sent in the discover header).
    public let localCluster: String

    let logger: Logger
    /// Gateway host names that do not resolve: one warning per host a minute (every probe
    /// round resolves them).
    let dnsWarnings: RateLimitedLog
    /// Probes that failed for a local reason (our own descriptor exhaustion): one warning per 10 s.
    let localProbeWarnings: RateLimitedLog
    let credentials: @Sendable () -> TLSContext
    let onChange: @Sendable (LinkMirror) -> Void
    let stopSignal = StopSignal()
    /// The discover thread waits out its backoff on this; a probe that finds the link back up
    /// nudges it, so the stream reconnects at once.
    let reconnectSignal = StopSignal()
    /// How long connecting (TCP and TLS) to the linked gateway may take for the discover stream.
    let connectTimeout: Duration
    /// A discover stream with no frame for this long is taken as broken (the server sends a
    /// keepalive every 5 s).
    let streamSilenceLimit: Duration

    private let lock = NSLock()
    private var current: MirrorState
    private var currentHealth = MirrorHealth()
    private var threads: [Thread] = []
    private let finished = DispatchGroup()
    /// The discover stream now open, for `stop()` to interrupt.
    private var openStream: TLSStream?
    /// Touched only by the discover thread: services over `limits.services` were refused and
    /// logged; further refusals are counted but not logged until a snapshot fits again.
    var servicesLimitLogged = false

    /// A mirror of `bundle`'s cluster. `initial` carries over what an earlier mirror of the same
    /// cluster knew (its services stay published until this one has a snapshot).
    public init(
        bundle: LinkBundle, localCluster: String, settings: LinkSettings, initial: MirrorState? = nil,
        credentials: @escaping @Sendable () -> TLSContext, logger: Logger,
        connectTimeout: Duration = .seconds(5), streamSilenceLimit: Duration = .seconds(20),
        onChange: @escaping @Sendable (LinkMirror) -> Void
    ) {
        self.bundle = bundle
        self.localCluster = localCluster
        self.settings = settings
        self.credentials = credentials
        self.logger = logger
        dnsWarnings = RateLimitedLog(logger: logger, interval: .seconds(60))
        localProbeWarnings = RateLimitedLog(logger: logger, interval: .seconds(10))
        self.connectTimeout = connectTimeout
        self.streamSilenceLimit = streamSilenceLimit
        self.onChange = onChange
        var state = initial ?? MirrorState()
        state.streaming = false
        current = state
    }

    /// The cluster this mirror follows.
    public var cluster: String { bundle.cluster }

    /// What the mirror knows now.
    public var state: MirrorState {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// How its probes and stream have been doing.
    public var health: MirrorHealth {
        lock.lock()
        defer { lock.unlock() }
        return currentHealth
    }

    /// Changes the health record (never calls `onChange`).
    func recordHealth(_ body: (inout MirrorHealth) -> Void) {
        lock.lock()
        body(&currentHealth)
        if currentHealth.recentRoundTrips.count > MirrorHealth.keep {
            currentHealth.recentRoundTrips.removeFirst(currentHealth.recentRoundTrips.count - MirrorHealth.keep)
        }
        lock.unlock()
    }

    /// Records a failure as the last error.
    func recordError(_ message: String) {
        recordHealth {
            $0.lastError = message
            $0.lastErrorAt = Date()
        }
    }

    /// Starts the discover and probe threads.
    public func start() {
        if current.liveGateways.isEmpty {
            let resolved = resolveGateways()
            lock.lock()
            current.liveGateways = resolved
            lock.unlock()
        }
        for (name, body) in [("mirror-\(cluster)", runDiscovery), ("probe-\(cluster)", runProbes)] {
            finished.enter()
            let t = Thread { [self] in
                body()
                finished.leave()
            }
            t.name = name
            threads.append(t)
        }
        for t in threads { t.start() }
    }

    /// Stops both threads and waits for them (a blocked call notices within 250 ms or so).
    public func stop() {
        requestStop()
        _ = finished.wait(timeout: .now() + .seconds(15))
    }

    /// Tells both threads to stop, without waiting (`stop()` waits).
    public func requestStop() {
        stopSignal.stop()
        reconnectSignal.stop()
        lock.lock()
        let s = openStream
        lock.unlock()
        s?.interrupt()
    }

    /// Changes the state with `body`; reports the change (outside the lock) when there was one.
    func update(_ body: (inout MirrorState) -> Void) {
        lock.lock()
        let before = current
        body(&current)
        let changed = current != before
        lock.unlock()
        if changed && !stopSignal.isStopped { onChange(self) }
    }

    func setOpenStream(_ stream: TLSStream?) {
        lock.lock()
        openStream = stream
        lock.unlock()
        if stream != nil && stopSignal.isStopped { stream?.interrupt() }
    }

    /// The bundle's gateway addresses, resolved now (names that do not resolve are logged and skipped).
    func resolveGateways() -> [SocketAddress] {
        var out: [SocketAddress] = []
        for g in bundle.gateways {
            // Warned at most once a minute per host (every probe round asks).
            do {
                let a = try SocketAddress.resolve(host: g.host, port: g.port)
                if !out.contains(a) { out.append(a) }
                dnsWarnings.clear("\(g)")
            } catch {
                dnsWarnings.warning("\(g)", "link \(cluster): gateway \(g) does not resolve: \(error)")
            }
        }
        return out
    }
}
