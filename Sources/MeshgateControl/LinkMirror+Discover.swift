import Foundation
import MeshgateDiscovery
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
        // One session for the link, across its streams: the services and the update budget
        // (reconnecting does not refill it).
        var session = DiscoverClientSession(
            services: state.services, maxServices: settings.maxServices, maxUpdatesPerSecond: settings.maxUpdatesPerSecond)
        while !stopSignal.isStopped {
            var outcome = "ended"
            var synced = false
            var refusedByUs = false
            do {
                try streamOnce(synced: &synced, session: &session)
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
    /// The session decides what the frames mean; this feeds it and publishes what it says.
    private func streamOnce(synced: inout Bool, session: inout DiscoverClientSession) throws {
        let stream = try connectToGateway()
        setOpenStream(stream)
        defer {
            setOpenStream(nil)
            stream.close()
        }
        try stream.write(DiscoverClientSession.request(cluster: localCluster), deadline: .now + connectTimeout)
        update { $0.streaming = true }
        recordHealth { $0.streamsOpened += 1 }
        session.streamStarted()
        while !stopSignal.isStopped {
            let bytes = try stream.read(deadline: .now + streamSilenceLimit)
            if bytes.isEmpty { throw StreamRefusal(description: "closed by \(cluster)'s gateway") }
            let step = session.receive(bytes)
            if step.snapshotEnded { synced = true }
            if step.changed {
                let services = session.services
                update { state in
                    state.services = services
                    if step.snapshotEnded { state.synced = true }
                }
                if let bySnapshot = step.refusedBySnapshot {
                    if bySnapshot.count == 0 && step.refusedByUpdates.count == 0 { servicesLimitLogged = false }
                    noteServicesRefused(bySnapshot.count, sample: bySnapshot.sample)
                }
                noteServicesRefused(step.refusedByUpdates.count, sample: step.refusedByUpdates.sample)
            }
            if let refusal = step.refusal { throw StreamRefusal(description: refusal.description, byUs: true) }
        }
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
