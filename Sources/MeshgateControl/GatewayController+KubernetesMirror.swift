import Foundation
import Logging
import MeshgateKube
import MeshgateProxy
import MeshgateWire

/// The Kubernetes mirror writer of the gateway (`mirror.kubernetes.services: true`;
/// docs/kubernetes.md, "Mirrored Services").
extension GatewayController {
    /// The writer, when `mirror.kubernetes.services` is set and it started.
    public var mirrorWriter: KubernetesMirrorWriter? { lock.withLock { mirrorWriterLocked } }

    /// Starts the writer when the config asks for one (read at start only). A client config that
    /// cannot be built is logged; the gateway serves its routes all the same.
    func startMirrorWriter() {
        guard let settings = currentConfig.kubernetesMirror else { return }
        let writer: KubernetesMirrorWriter
        do {
            let range = publisher.portRange
            writer = try KubernetesMirrorWriter(
                settings: settings, logger: logger,
                observed: { [weak self] services in
                    self?.adoptMirroredPorts(MirroredServicePorts.adopted(from: services.values, range: range))
                },
                input: { [weak self] in
                    self?.mirroredServiceInput() ?? MirroredServiceInput(routes: [], remote: [:], links: .init(known: false, synced: [:]))
                })
        } catch {
            logger.error("mirror.kubernetes: \(error) (mirrored Services are not written; routes are served)")
            return
        }
        lock.withLock { mirrorWriterLocked = writer }
        writer.start()
        logger.info(
            "mirror writer: writing <svc>-<cluster> Services through \(settings.api.summary) while holding Lease \(settings.leaseNamespace)/\(settings.leaseName) as \(settings.holder)"
        )
    }

    /// Stops the writer (its Lease released, so another replica takes over at once).
    func stopMirrorWriter() {
        exchangeLocked(\.mirrorWriterLocked)?.stopAndWait()
    }

    /// Pins the ports the mirrored Services name (`MirroredServicePorts`): a route listening
    /// elsewhere moves to the port kube-proxy sends its traffic to. Publishes only when a route
    /// is on another port than its pin (on the Lease holder the Services are its own ports, so
    /// nothing moves).
    func adoptMirroredPorts(_ ports: [String: UInt16]) {
        lock.lock()
        guard ports != adoptedPorts else {
            lock.unlock()
            return
        }
        adoptedPorts = ports
        publisher.setPortRules(
            pins: MirroredServicePorts.merge(configured: config.outbound.pins, adopted: ports), holdOff: config.outbound.portHoldOff)
        let allocator = publisher.portAllocator
        let moving = mirrored.keys.filter { allocator.isMisplaced($0) }.sorted()
        guard !moving.isEmpty else {
            lock.unlock()
            return
        }
        let report = publishLocked(resolve: false)
        lock.unlock()
        logger.info(
            "mirrored Services name other ports for \(moving.count) route(s) (\(moving.prefix(3).joined(separator: ", "))\(moving.count > 3 ? ", …" : "")): moved to them")
        logPublish(report, first: false)
        pokeMirrorWriter()
    }

    /// Tells the writer the mirrored routes, their listeners or the links may have changed.
    func pokeMirrorWriter() {
        lock.withLock { mirrorWriterLocked }?.poke()
    }

    /// What the writer plans from: the mirrored routes with their listeners' ports, each linked
    /// cluster's services, and which links are synced.
    func mirroredServiceInput() -> MirroredServiceInput {
        let routes = lock.withLock { mirrored }
        let snapshot = publisher.snapshot
        let mirrors = links?.mirrors ?? []
        var out: [MirroredServiceRoute] = []
        out.reserveCapacity(routes.count)
        for (key, route) in routes {
            out.append(
                MirroredServiceRoute(
                    key: key, cluster: route.cluster, target: route.target, identity: route.expectedIdentity.spiffeURI,
                    listenerPort: snapshot.routes[key]?.listener.address.port))
        }
        var remote: [String: [String: DiscoveredService]] = [:]
        var synced: [String: Bool] = [:]
        for m in mirrors {
            let state = m.state
            remote[m.cluster] = state.services
            synced[m.cluster] = state.synced
        }
        return MirroredServiceInput(
            routes: out, remote: remote, links: MirroredServiceLinks(known: links?.hasScanned == true, synced: synced))
    }
}
