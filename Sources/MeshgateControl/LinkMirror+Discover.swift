import Foundation
import MeshgateLoop
import MeshgateNames
import MeshgateProxy
import MeshgateTLS
import MeshgateWire

/// The discover stream: connect, ask, apply frames; reconnect with backoff when it breaks.
extension LinkMirror {
    /// Why a stream was ended by this side.
    struct StreamRefusal: Error, CustomStringConvertible {
        let description: String
        /// This side ended the stream because the peer broke a rule (a limit, the frame format).
        var byUs = false
    }

    func runDiscovery() {
        var backoff = ReconnectBackoff()
        var failuresLogged = 0
        // One bucket for the link, across its streams: reconnecting does not refill it.
        var limiter = UpdateRateLimiter(perSecond: settings.maxUpdatesPerSecond, burst: settings.maxUpdatesPerSecond * 10)
        while !stopSignal.isStopped {
            var outcome = "ended"
            var synced = false
            var refusedByUs = false
            do {
                try streamOnce(synced: &synced, limiter: &limiter)
            } catch {
                outcome = "ended: \(error)"
                recordError("discover stream: \(error)")
                refusedByUs = error is StreamRefusal && (error as! StreamRefusal).byUs
            }
            // A stream we cut for misbehaving does not earn a quick reconnect.
            if synced && !refusedByUs {
                backoff.reset()
                failuresLogged = 0
            }
            update { $0.streaming = false }
            if stopSignal.isStopped { return }
            let wait = backoff.next()
            // Every failure is logged until it repeats; then once a minute or so (at the backoff ceiling).
            if failuresLogged < 3 || backoff.ceiling >= backoff.maximum {
                logger.warning(
                    "link \(cluster): discover stream \(outcome); routes stay as last known; reconnecting in \(DurationText.format(wait))")
                failuresLogged += 1
            }
            reconnectSignal.sleep(for: wait)
        }
    }

    /// One stream from connect to its end; `synced` is set once it delivered a whole snapshot.
    private func streamOnce(synced: inout Bool, limiter: inout UpdateRateLimiter) throws {
        let stream = try connectToGateway()
        setOpenStream(stream)
        defer {
            setOpenStream(nil)
            stream.close()
        }
        // Asks for port names: a gateway that knows the option sends `upsertNamed` frames, an older
        // one skips the extension field and sends plain `upsert`s (ports without names).
        try stream.write(
            TransportHeader.discover(cluster: localCluster, options: .portNames).encoded(), deadline: .now + connectTimeout)
        update { $0.streaming = true }
        recordHealth { $0.streamsOpened += 1 }
        var buffer: [UInt8] = []
        var snapshot: SnapshotIntake? = nil
        var firstSnapshot = true
        // The generation of the snapshot being received (nil between snapshots).
        var openGeneration: UInt64? = nil
        while !stopSignal.isStopped {
            let bytes = try stream.read(deadline: .now + streamSilenceLimit)
            if bytes.isEmpty { throw StreamRefusal(description: "closed by \(cluster)'s gateway") }
            buffer += bytes
            var changes: [(String, DiscoveredService?)] = []
            var replaced: [String: DiscoveredService]? = nil
            // Services a snapshot ended in this read refused (over the limit), and a few of their keys.
            var snapshotRefused: (count: Int, sample: [String])? = nil
            var offset = 0
            // A rule broken mid-read ends the stream after what came before it is applied.
            var failure: StreamRefusal? = nil
            decoding: while true {
                let result = buffer.withUnsafeBytes {
                    DiscoveryMessage.decode(UnsafeRawBufferPointer(rebasing: $0[offset...]))
                }
                switch result {
                case .needMoreBytes: break decoding
                case .invalid(let error):
                    failure = StreamRefusal(description: "sent a malformed frame (\(error)); closed by us", byUs: true)
                    break decoding
                case .complete(let message, let consumed):
                    offset += consumed
                    switch message {
                    case .keepalive:
                        continue
                    case .snapshotBegin(let generation):
                        // A snapshot of another generation begun inside one is a protocol error.
                        if let open = openGeneration, open != generation {
                            failure = StreamRefusal(
                                description: "began snapshot \(generation) inside snapshot \(open); closed by us", byUs: true)
                            break decoding
                        }
                        openGeneration = generation
                        // A stream's first snapshot is free (reconnects are bounded by our
                        // backoff); a snapshot restarted within a stream is an update.
                        if firstSnapshot {
                            firstSnapshot = false
                            snapshot = SnapshotIntake(held: Set(state.services.keys), limit: settings.maxServices)
                            continue
                        }
                        guard limiter.take() else {
                            failure = overRate()
                            break decoding
                        }
                        snapshot = SnapshotIntake(held: Set(state.services.keys), limit: settings.maxServices)
                    case .snapshotEnd:
                        openGeneration = nil
                        guard var whole = snapshot else {
                            failure = StreamRefusal(description: "ended a snapshot it never began; closed by us", byUs: true)
                            break decoding
                        }
                        let (kept, refused) = whole.finish()
                        replaced = kept
                        snapshotRefused = (refused, whole.sample)
                        changes.removeAll()
                        snapshot = nil
                        synced = true
                    case .upsert(let service), .upsertNamed(let service):
                        let key = "\(service.namespace)/\(service.name)"
                        if snapshot != nil {
                            snapshot!.upsert(key, service)
                        } else {
                            guard limiter.take() else {
                                failure = overRate()
                                break decoding
                            }
                            changes.append((key, service))
                        }
                    case .remove(let namespace, let name):
                        let key = "\(namespace)/\(name)"
                        if snapshot != nil {
                            snapshot!.remove(key)
                        } else {
                            guard limiter.take() else {
                                failure = overRate()
                                break decoding
                            }
                            changes.append((key, nil))
                        }
                    }
                }
            }
            if offset > 0 { buffer.removeFirst(offset) }
            if replaced == nil && changes.isEmpty {
                if let failure { throw failure }
                continue
            }
            let limit = settings.maxServices
            var refused: [String] = []
            update { state in
                if let replaced {
                    state.services = replaced
                    state.synced = true
                }
                for (key, service) in changes {
                    if let service {
                        if state.services[key] == nil && state.services.count >= limit {
                            refused.append(key)
                            continue
                        }
                        state.services[key] = service
                    } else {
                        state.services.removeValue(forKey: key)
                    }
                }
            }
            if let snapshotRefused {
                if snapshotRefused.count == 0 && refused.isEmpty { servicesLimitLogged = false }
                noteServicesRefused(snapshotRefused.count, sample: snapshotRefused.sample)
            }
            noteServicesRefused(refused.count, sample: Array(refused.prefix(SnapshotIntake.sampleSize)))
            if let failure { throw failure }
        }
    }

    private func overRate() -> StreamRefusal {
        StreamRefusal(
            description:
                "sent more than \(settings.maxUpdatesPerSecond) updates a second (links limits.updatesPerSecond, bursts of \(settings.maxUpdatesPerSecond * 10)); closed by us",
            byUs: true)
    }

    /// A TLS stream to one of the gateway's addresses: live ones first, in turn.
    private func connectToGateway() throws -> TLSStream {
        let live = state.liveGateways
        var addresses = live
        for a in resolveGateways() where !addresses.contains(a) { addresses.append(a) }
        guard !addresses.isEmpty else { throw StreamRefusal(description: "has no gateway address that resolves") }
        var errors: [String] = []
        for address in addresses {
            if stopSignal.isStopped { break }
            do {
                return try TLSStream.connect(
                    to: address, context: credentials(), expected: bundle.identity, deadline: .now + connectTimeout,
                    isCancelled: { [stopSignal] in stopSignal.isStopped })
            } catch {
                errors.append("\(error)")
            }
        }
        throw StreamRefusal(description: "cannot connect: \(errors.joined(separator: "; "))")
    }
}
