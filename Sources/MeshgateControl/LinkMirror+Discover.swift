import Foundation
import MeshgateLoop
import MeshgateProxy
import MeshgateTLS
import MeshgateWire

/// The discover stream: connect, ask, apply frames; reconnect with backoff when it breaks.
extension LinkMirror {
    /// Why a stream was ended by this side.
    struct StreamRefusal: Error, CustomStringConvertible {
        let description: String
    }

    func runDiscovery() {
        var backoff = ReconnectBackoff()
        var failuresLogged = 0
        while !stopSignal.isStopped {
            var outcome = "ended"
            var synced = false
            do {
                try streamOnce(synced: &synced)
            } catch {
                outcome = "\(error)"
            }
            if synced {
                backoff.reset()
                failuresLogged = 0
            }
            update { $0.streaming = false }
            if stopSignal.isStopped { return }
            let wait = backoff.next()
            // Every failure is logged until it repeats; then once a minute or so (at the backoff ceiling).
            if failuresLogged < 3 || backoff.ceiling >= backoff.maximum {
                logger.warning(
                    "link \(cluster): discover stream \(outcome); routes stay as last known; reconnecting in \(ConfigDuration.format(wait))")
                failuresLogged += 1
            }
            reconnectSignal.sleep(for: wait)
        }
    }

    /// One stream from connect to its end; `synced` is set once it delivered a whole snapshot.
    private func streamOnce(synced: inout Bool) throws {
        let stream = try connectToGateway()
        setOpenStream(stream)
        defer {
            setOpenStream(nil)
            stream.close()
        }
        try stream.write(TransportHeader.discover(cluster: localCluster).encoded(), deadline: .now + connectTimeout)
        update { $0.streaming = true }
        var buffer: [UInt8] = []
        var snapshot: [String: DiscoveredService]? = nil
        var limiter = UpdateRateLimiter(perSecond: settings.maxUpdatesPerSecond, burst: settings.maxUpdatesPerSecond * 10)
        var overLimitLogged = false
        while !stopSignal.isStopped {
            let bytes = try stream.read(deadline: .now + streamSilenceLimit)
            if bytes.isEmpty { throw StreamRefusal(description: "closed by \(cluster)'s gateway") }
            buffer += bytes
            var changes: [(String, DiscoveredService?)] = []
            var replaced: [String: DiscoveredService]? = nil
            var offset = 0
            decoding: while true {
                let result = buffer.withUnsafeBytes {
                    DiscoveryMessage.decode(UnsafeRawBufferPointer(rebasing: $0[offset...]))
                }
                switch result {
                case .needMoreBytes: break decoding
                case .invalid(let error): throw StreamRefusal(description: "sent a malformed frame (\(error))")
                case .complete(let message, let consumed):
                    offset += consumed
                    switch message {
                    case .keepalive:
                        continue
                    case .snapshotBegin:
                        guard limiter.take() else { throw overRate() }
                        snapshot = [:]
                    case .snapshotEnd:
                        guard let whole = snapshot else { throw StreamRefusal(description: "ended a snapshot it never began") }
                        replaced = whole
                        changes.removeAll()
                        snapshot = nil
                        synced = true
                    case .upsert(let service):
                        let key = "\(service.namespace)/\(service.name)"
                        if snapshot != nil {
                            if snapshot![key] == nil && snapshot!.count >= settings.maxServices {
                                if !overLimitLogged {
                                    logger.warning(
                                        "link \(cluster): more than \(settings.maxServices) services (links limits.services); \(key) and any further ones are refused")
                                    overLimitLogged = true
                                }
                                continue
                            }
                            snapshot![key] = service
                        } else {
                            guard limiter.take() else { throw overRate() }
                            changes.append((key, service))
                        }
                    case .remove(let namespace, let name):
                        let key = "\(namespace)/\(name)"
                        if snapshot != nil {
                            snapshot!.removeValue(forKey: key)
                        } else {
                            guard limiter.take() else { throw overRate() }
                            changes.append((key, nil))
                        }
                    }
                }
            }
            if offset > 0 { buffer.removeFirst(offset) }
            if replaced == nil && changes.isEmpty { continue }
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
            if !refused.isEmpty {
                logger.warning(
                    "link \(cluster): more than \(limit) services (links limits.services); refused \(refused.joined(separator: ", "))")
            }
        }
    }

    private func overRate() -> StreamRefusal {
        StreamRefusal(
            description:
                "sent more than \(settings.maxUpdatesPerSecond) updates a second (links limits.updatesPerSecond, bursts of \(settings.maxUpdatesPerSecond * 10)); closed by us")
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
