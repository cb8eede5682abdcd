import Foundation
import MeshgateLoop
import MeshgateNames
import MeshgateTLS
import MeshgateWire
import Testing
@testable import MeshgateProxy
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

/// `RouteTablePublisher` on its own (no loops): which listener each route gets, when a
/// listener closes, what is reported. Ports come from a block found free at the start of each
/// test; which port of the block a range route gets is its key's hash's choice (`PortAllocator`).
@Suite(.serialized) struct RouteTablePublisherTests {
    // MARK: - Stable ports, removal

    @Test("a kept route keeps its port (and listener) across publishes; a removed one's port is refused at once")
    func keptRouteKeepsItsPort() throws {
        let (publisher, base) = try PublisherFixture.publisherOnFreePorts(8)
        let a = PublisherFixture.route("alpha")
        let b = PublisherFixture.route("bravo")
        let first = publisher.publish(routes: [a, b], services: [])
        #expect(first.failed.isEmpty, "\(first.failed)")
        let pa = try #require(first.listening[a.key]?.port)
        let pb = try #require(first.listening[b.key]?.port)
        #expect(pa != pb)
        #expect((base...(base + 7)).contains(pa) && (base...(base + 7)).contains(pb))
        #expect(LoopbackPorts.connectErrno(pa) == 0, "alpha listens")
        #expect(LoopbackPorts.connectErrno(pb) == 0, "bravo listens")
        let bListener = try #require(publisher.snapshot.routes[b.key]?.listener)

        // Same routes again, as new objects (a reload re-reads the file), in another order, plus one.
        let c = PublisherFixture.route("charlie")
        let second = publisher.publish(routes: [c, PublisherFixture.route("bravo"), PublisherFixture.route("alpha")], services: [])
        #expect(second.failed.isEmpty, "\(second.failed)")
        #expect(second.listening[a.key]?.port == pa, "alpha kept its port")
        #expect(second.listening[b.key]?.port == pb, "bravo kept its port")
        #expect(publisher.snapshot.routes[b.key]?.listener === bListener, "bravo kept its listener")
        let pc = try #require(second.listening[c.key]?.port)
        #expect(pc != pa && pc != pb)

        // alpha goes away: nothing but the publisher and the replaced snapshot held its listener.
        let third = publisher.publish(routes: [PublisherFixture.route("bravo"), PublisherFixture.route("charlie")], services: [])
        #expect(third.failed.isEmpty, "\(third.failed)")
        #expect(third.listening[b.key]?.port == pb)
        #expect(third.listening[c.key]?.port == pc)
        #expect(third.listening[a.key] == nil)
        #expect(publisher.snapshot.routes[a.key] == nil)
        #expect(LoopbackPorts.connectErrno(pa) == ECONNREFUSED, "the removed route's port is closed")
        #expect(LoopbackPorts.connectErrno(pb) == 0, "bravo still listens")
        #expect(LoopbackPorts.connectErrno(pc) == 0, "charlie still listens")
        #expect(publisher.snapshot.routes[b.key]?.listener === bListener)
    }

    @Test("a removed fixed-address route's listener closes once the snapshot no longer lists it, and the address can be taken again")
    func removedFixedRouteCloses() throws {
        let base = try LoopbackPorts.freeBlock(count: 3)
        // The fixed port is outside the range.
        let publisher = try PublisherFixture.publisher(range: (base + 1)...(base + 2))
        let fixed = try SocketAddress.resolve("127.0.0.1:\(base)")
        let first = publisher.publish(routes: [PublisherFixture.route("fixed", listen: fixed)], services: [])
        #expect(first.failed.isEmpty, "\(first.failed)")
        #expect(first.listening["default/fixed:7000"]?.port == base)
        #expect(LoopbackPorts.connectErrno(base) == 0)

        let second = publisher.publish(routes: [], services: [])
        #expect(second.listening.isEmpty)
        #expect(publisher.snapshot.routes.isEmpty)
        #expect(LoopbackPorts.connectErrno(base) == ECONNREFUSED, "the port closed with the last reference")

        let third = publisher.publish(routes: [PublisherFixture.route("fixed", listen: fixed)], services: [])
        #expect(third.failed.isEmpty, "the freed address can be listened on again: \(third.failed)")
        #expect(third.listening["default/fixed:7000"]?.port == base)
        #expect(LoopbackPorts.connectErrno(base) == 0)
    }

    @Test("closeRoutes withdraws every route: every port is refused, services stay")
    func closeRoutesClosesEveryListener() throws {
        let publisher = try PublisherFixture.publisherOnFreePorts(4).publisher
        let service = ExportedService(namespace: "default", name: "echo", exported: true, allowed: nil, endpoints: [:])
        let report = publisher.publish(routes: [PublisherFixture.route("a"), PublisherFixture.route("b")], services: [service])
        let ports = report.listening.values.map(\.port)
        #expect(ports.count == 2)
        for p in ports { #expect(LoopbackPorts.connectErrno(p) == 0) }
        publisher.closeRoutes()
        #expect(publisher.snapshot.routes.isEmpty)
        #expect(publisher.snapshot.services["default/echo"] === service)
        for p in ports { #expect(LoopbackPorts.connectErrno(p) == ECONNREFUSED, "port \(p)") }
    }

    // MARK: - Fixed addresses and the range

    @Test("a fixed address inside the range is honoured and never handed to a range route, whatever the order")
    func fixedAddressesAreHonoured() throws {
        let (publisher, base) = try PublisherFixture.publisherOnFreePorts(3)
        // Range routes first in the list: the fixed one (on the range's first port) must still get its port.
        let r1 = PublisherFixture.route("range-one")
        let r2 = PublisherFixture.route("range-two")
        let f = PublisherFixture.route("fixed", listen: try SocketAddress.resolve("127.0.0.1:\(base)"))
        let report = publisher.publish(routes: [r1, r2, f], services: [])
        #expect(report.failed.isEmpty, "\(report.failed)")
        #expect(report.listening[f.key]?.port == base)
        #expect(report.listening[f.key]?.host == "127.0.0.1")
        let rangePorts = Set([r1, r2].compactMap { report.listening[$0.key]?.port })
        #expect(rangePorts == [base + 1, base + 2])
        #expect(publisher.snapshot.routes[f.key]?.listener.fixed == true)
        #expect(publisher.snapshot.routes[r1.key]?.listener.fixed == false)

        // A fixed route added later whose port is free is honoured too; a range route added with it finds no port.
        let base2 = try LoopbackPorts.freeBlock(count: 2)
        let publisher2 = try PublisherFixture.publisher(range: base2...(base2 + 1))
        // (Which of the two ports range-one gets is its hash's choice; the late fixed route names the other.)
        let first = publisher2.publish(routes: [PublisherFixture.route("range-one")], services: [])
        let one = try #require(first.listening["default/range-one:7000"]?.port)
        #expect((base2...(base2 + 1)).contains(one))
        let other = one == base2 ? base2 + 1 : base2
        let late = PublisherFixture.route("late-fixed", listen: try SocketAddress.resolve("127.0.0.1:\(other)"))
        let extra = PublisherFixture.route("range-two")
        let second = publisher2.publish(routes: [PublisherFixture.route("range-one"), extra, late], services: [])
        #expect(second.listening[late.key]?.port == other, "the fixed route got its port: \(second.failed)")
        #expect(second.listening["default/range-one:7000"]?.port == one)
        #expect(second.listening[extra.key] == nil)
        #expect(second.failed[extra.key]?.contains("no free port") == true, "\(second.failed)")
        #expect(second.failed[late.key] == nil)
    }

    @Test("range exhaustion is reported per route; the routes that got a port are published")
    func rangeExhaustionIsReported() throws {
        let (publisher, base) = try PublisherFixture.publisherOnFreePorts(2)
        let routes = ["one", "two", "three"].map { PublisherFixture.route($0) }
        let report = publisher.publish(routes: routes, services: [])
        #expect(report.listening.count == 2)
        #expect(report.failed.count == 1)
        let (key, reason) = try #require(report.failed.first)
        #expect(routes.map(\.key).contains(key))
        #expect(report.listening[key] == nil)
        #expect(reason.contains("no free port in \(base)-\(base + 1)"), "\(reason)")
        #expect(publisher.snapshot.routes.count == 2)
        #expect(publisher.snapshot.routes[key] == nil)
        #expect(Set(report.listening.values.map(\.port)) == [base, base + 1])
    }

    @Test("a fixed address that cannot be bound is reported, other routes are published")
    func busyFixedAddressIsReported() throws {
        let base = try LoopbackPorts.freeBlock(count: 3)
        let holder = try Socket.listen(on: try SocketAddress.resolve("127.0.0.1:\(base)"), reusePort: false)
        defer { close(holder) }
        let publisher = try PublisherFixture.publisher(range: (base + 1)...(base + 2))
        let busy = PublisherFixture.route("busy", listen: try SocketAddress.resolve("127.0.0.1:\(base)"))
        let fine = PublisherFixture.route("fine")
        let report = publisher.publish(routes: [busy, fine], services: [])
        #expect(report.failed[busy.key]?.contains("cannot listen on 127.0.0.1:\(base)") == true, "\(report.failed)")
        #expect(report.listening[fine.key].map { ((base + 1)...(base + 2)).contains($0.port) } == true)
        #expect(publisher.snapshot.routes.keys.sorted() == [fine.key])
    }

    // MARK: - Generations, duplicates

    @Test("every publish increments the generation by one, failed routes or not")
    func generationIncrements() throws {
        let publisher = try PublisherFixture.publisherOnFreePorts(1).publisher
        #expect(publisher.snapshot.generation == 0)
        var last: UInt64 = 0
        for round in 0..<5 {
            // Two range routes for one port: one always fails.
            let report = publisher.publish(routes: [PublisherFixture.route("a"), PublisherFixture.route("b")], services: [])
            #expect(report.generation == last + 1, "round \(round)")
            #expect(publisher.snapshot.generation == report.generation)
            #expect(report.failed.count == 1)
            last = report.generation
        }
        publisher.closeRoutes()
        #expect(publisher.snapshot.generation == last + 1)
    }

    @Test("a duplicate route key is reported in failed; the first one is published")
    func duplicateKeysAreReported() throws {
        let (publisher, base) = try PublisherFixture.publisherOnFreePorts(4)
        let first = PublisherFixture.route("dup", target: "first")
        let second = PublisherFixture.route("dup", target: "second")
        let other = PublisherFixture.route("other")
        let report = publisher.publish(routes: [first, second, other], services: [])
        #expect(first.key == second.key)
        #expect(report.failed[first.key] == "duplicate route key", "\(report.failed)")
        #expect(report.failed.count == 1)
        #expect(report.listening[other.key] != nil)
        #expect(publisher.snapshot.routes.count == 2)
        #expect(publisher.snapshot.routes[first.key]?.route === first, "the first definition wins")
        // Only one listener was opened for the key: one range port taken by dup, one by other.
        let listeningPorts = (base...(base + 3)).filter { LoopbackPorts.connectErrno($0) == 0 }
        #expect(listeningPorts.count == 2, "\(listeningPorts)")
    }

    // MARK: - Renaming a route that has a fixed address

    /// Renaming a route (new namespace/name, same `listen`) in one edit of gateway.yaml: the
    /// address is free once the old route is gone, so the renamed route must get it.
    @Test("renaming a route with a fixed address keeps the address served in the same publish")
    func renamedFixedRouteGetsItsAddress() throws {
        let base = try LoopbackPorts.freeBlock(count: 3)
        let publisher = try PublisherFixture.publisher(range: (base + 1)...(base + 2))
        let address = try SocketAddress.resolve("127.0.0.1:\(base)")
        let old = PublisherFixture.route("old-name", listen: address)
        _ = publisher.publish(routes: [old], services: [])
        let renamed = PublisherFixture.route("new-name", listen: address)
        let report = publisher.publish(routes: [renamed], services: [])
        #expect(report.failed.isEmpty, "the renamed route has no listener: \(report.failed)")
        #expect(report.listening[renamed.key]?.port == base)
        #expect(LoopbackPorts.connectErrno(base) == 0, "\(base) is served")
    }
}

// MARK: - Fixtures

enum PublisherFixture {
    static let remoteGateway = try! SocketAddress.resolve("127.0.0.1:4143")
    static let remoteIdentity = WorkloadIdentity("spiffe://cluster.local/ns/meshgate-west/sa/gateway")!

    /// A route `default/<name>:7000` to cluster west.
    static func route(_ name: String, target: String? = nil, listen: SocketAddress? = nil) -> GatewayRoute {
        GatewayRoute(
            key: "default/\(name):7000", cluster: "west", gateways: [remoteGateway], expectedIdentity: remoteIdentity,
            target: ConnectTarget(namespace: "default", name: target ?? name, port: 7000), fixedListen: listen)
    }

    /// A publisher whose range is a block of `count` ports found free now, and the block's first port.
    static func publisherOnFreePorts(_ count: Int) throws -> (publisher: RouteTablePublisher, base: UInt16) {
        let base = try LoopbackPorts.freeBlock(count: count)
        return (try publisher(range: base...(base + UInt16(count - 1))), base)
    }

    static func publisher(range: ClosedRange<UInt16>) throws -> RouteTablePublisher {
        RouteTablePublisher(
            bindAddress: try SocketAddress.resolve(host: "127.0.0.1", port: 0), portRange: range,
            credentials: try PublisherCredentials.shared(), loops: 1)
    }
}

/// Gateway TLS contexts (east's gateway leaf under east's issuer, both roles) from a throwaway
/// PKI of the test kit, written once per test process.
enum PublisherCredentials {
    static func shared() throws -> GatewayCredentials { try result.get() }

    private static let result = ProcessFixture.make {
        let pki = try TestPKI.temporary("publisher")
        let anchor = try pki.anchor("anchor", commonName: "meshgate test anchor")
        try pki.writeBundle([anchor])
        let issuer = try pki.issuer("east-issuer", subject: "/CN=meshgate issuer east", signedBy: anchor)
        try pki.leaf("east", serviceAccount: "gateway", namespace: "meshgate-east", signedBy: issuer)
        return GatewayCredentials(server: try pki.context(.server, leaf: "east"), client: try pki.context(.client, leaf: "east"))
    }
}
