import MeshgateWire

/// The mirror's half of the discover stream, without I/O: bytes in, the services the linked
/// cluster exports (and how they changed) or a refusal out (docs/links.md, "The service mirror").
///
/// One session lives as long as its link: the services and the update budget outlast each
/// stream; `streamStarted()` forgets what belonged to the previous stream. Within a stream:
/// - the first snapshot replaces the services once its `snapshotEnd` arrives; a snapshot may be
///   restarted with the same generation, and a later snapshot again replaces everything;
/// - between snapshots `upsert`/`upsertNamed` and `remove` change single services;
/// - new services over `maxServices` are refused (counted, the stream goes on): services the
///   mirror has keep their place (`SnapshotIntake`);
/// - updates and restarted snapshots beyond `maxUpdatesPerSecond` (bursts of ten times that)
///   end the stream; the stream's first snapshot is free, reconnects being bounded by backoff.
public struct DiscoverClientSession: Sendable {
    /// Services a mirror keeps at most (links `limits.services`).
    public let maxServices: Int
    /// Updates a second a stream may send on average (links `limits.updatesPerSecond`).
    public let maxUpdatesPerSecond: Int
    /// The linked cluster's exported services by `namespace/name`, as last known.
    public private(set) var services: [String: DiscoveredService]

    /// One bucket for the link, across its streams: reconnecting does not refill it.
    private var limiter: UpdateRateLimiter
    /// Bytes received that do not make a whole frame yet.
    private var buffer: [UInt8] = []
    /// The snapshot being received (nil between snapshots).
    private var intake: SnapshotIntake? = nil
    /// The generation of the snapshot being received (nil between snapshots).
    private var openGeneration: UInt64? = nil
    /// No snapshot has begun on this stream yet.
    private var beforeFirstSnapshot = true

    /// A session that starts from `services` (what an earlier mirror of the link knew).
    public init(services: [String: DiscoveredService] = [:], maxServices: Int, maxUpdatesPerSecond: Int) {
        self.services = services
        self.maxServices = maxServices
        self.maxUpdatesPerSecond = maxUpdatesPerSecond
        limiter = UpdateRateLimiter(perSecond: maxUpdatesPerSecond, burst: maxUpdatesPerSecond * 10)
    }

    /// The header that opens a stream for `cluster`: it asks for port names, which a gateway
    /// that knows the option sends as `upsertNamed` frames (an older one skips the extension
    /// field and sends plain `upsert`s, ports without names).
    public static func request(cluster: String) throws(TransportHeaderError) -> [UInt8] {
        try TransportHeader.discover(cluster: cluster, options: .portNames).encoded()
    }

    /// A new stream begins: what the previous one left half-received is dropped.
    public mutating func streamStarted() {
        buffer.removeAll()
        intake = nil
        openGeneration = nil
        beforeFirstSnapshot = true
    }

    /// Takes `bytes` read from the stream at `now`: decodes every whole frame and applies it.
    /// Changes take effect at the end of the call, all at once; a rule broken part way ends
    /// decoding there and is returned with what came before it applied.
    public mutating func receive(_ bytes: [UInt8], now: ContinuousClock.Instant = .now) -> DiscoverClientStep {
        buffer += bytes
        var step = DiscoverClientStep()
        var changes: [(key: String, service: DiscoveredService?)] = []
        var replaced: [String: DiscoveredService]? = nil
        var offset = 0
        decoding: while true {
            let result = buffer.withUnsafeBytes { DiscoveryMessage.decode(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            switch result {
            case .needMoreBytes: break decoding
            case .invalid(let error):
                step.refusal = .malformedFrame(error)
                break decoding
            case .complete(let message, let consumed):
                offset += consumed
                if let refusal = take(message, now: now, changes: &changes, replaced: &replaced, step: &step) {
                    step.refusal = refusal
                    break decoding
                }
            }
        }
        if offset > 0 { buffer.removeFirst(offset) }
        guard replaced != nil || !changes.isEmpty else { return step }
        step.changed = true
        if let replaced { services = replaced }
        for (key, service) in changes {
            if let service {
                if services[key] == nil && services.count >= maxServices {
                    step.refusedByUpdates.note(key)
                    continue
                }
                services[key] = service
            } else {
                services.removeValue(forKey: key)
            }
        }
        return step
    }

    /// Applies one frame to this read's pending changes; the rule it breaks, if any.
    private mutating func take(
        _ message: DiscoveryMessage, now: ContinuousClock.Instant, changes: inout [(key: String, service: DiscoveredService?)],
        replaced: inout [String: DiscoveredService]?, step: inout DiscoverClientStep
    ) -> DiscoverClientRefusal? {
        switch message {
        case .keepalive:
            return nil
        case .snapshotBegin(let generation):
            // A snapshot of another generation begun inside one is a protocol error.
            if let open = openGeneration, open != generation { return .snapshotInsideSnapshot(began: generation, open: open) }
            openGeneration = generation
            // A stream's first snapshot is free; a snapshot restarted within a stream is an update.
            if beforeFirstSnapshot {
                beforeFirstSnapshot = false
            } else if !limiter.take(now: now) {
                return .overRate(perSecond: maxUpdatesPerSecond)
            }
            intake = SnapshotIntake(held: Set(services.keys), limit: maxServices)
            return nil
        case .snapshotEnd:
            openGeneration = nil
            guard var whole = intake else { return .snapshotEndWithoutBegin }
            let (kept, refused) = whole.finish()
            replaced = kept
            step.snapshotEnded = true
            step.refusedBySnapshot = DiscoverClientStep.Refused(count: refused, sample: whole.sample)
            // The snapshot supersedes every change before it.
            changes.removeAll()
            intake = nil
            return nil
        case .upsert(let service), .upsertNamed(let service):
            return change("\(service.namespace)/\(service.name)", to: service, now: now, changes: &changes)
        case .remove(let namespace, let name):
            return change("\(namespace)/\(name)", to: nil, now: now, changes: &changes)
        }
    }

    /// An upsert (`service`) or a remove (nil) of `key`: part of the open snapshot, or an update.
    private mutating func change(
        _ key: String, to service: DiscoveredService?, now: ContinuousClock.Instant,
        changes: inout [(key: String, service: DiscoveredService?)]
    ) -> DiscoverClientRefusal? {
        if intake != nil {
            if let service { intake!.upsert(key, service) } else { intake!.remove(key) }
            return nil
        }
        if beforeFirstSnapshot { return .updateBeforeSnapshot }
        guard limiter.take(now: now) else { return .overRate(perSecond: maxUpdatesPerSecond) }
        changes.append((key, service))
        return nil
    }
}

/// What one `DiscoverClientSession.receive` did.
public struct DiscoverClientStep: Equatable, Sendable {
    /// Services refused over `maxServices`: how many, and the first few keys (for the log).
    public struct Refused: Equatable, Sendable {
        public var count = 0
        public var sample: [String] = []

        mutating func note(_ key: String) {
            count += 1
            if sample.count < SnapshotIntake.sampleSize { sample.append(key) }
        }
    }

    /// The services changed (a snapshot ended, or updates arrived): the session's `services`
    /// are the new ones.
    public var changed = false
    /// A whole snapshot ended: the services were replaced by it.
    public var snapshotEnded = false
    /// New services the ended snapshot refused (nil when no snapshot ended).
    public var refusedBySnapshot: Refused? = nil
    /// New services updates after the last snapshot refused (the services were full).
    public var refusedByUpdates = Refused()
    /// The rule the peer broke: the stream must end, by us.
    public var refusal: DiscoverClientRefusal? = nil
}
