import Foundation
import Logging
import MeshgateLoop
import MeshgateNames
import MeshgateTLS
import MeshgateWire
import Testing
@testable import MeshgateDiscovery
@testable import MeshgateProxy

#if canImport(Glibc)
import Glibc
#endif

/// `DiscoveryServer` over real loopback mTLS: a `RouteTablePublisher` publishes services, the
/// server side of each connection is accepted with `TLSStream.accept`, reads the `discover`
/// header and is handed to `serve(_:cluster:)`; the client side reads frames.
@Suite(.serialized) struct DiscoveryServerTests {
    static let endpoint = try! SocketAddress.resolve("10.0.0.1:8080")
    static let endpoint2 = try! SocketAddress.resolve("10.0.0.2:8080")

    /// A publisher (127.0.0.1, no routes) for `loops` loops that do not run, and a discovery
    /// server over it. `publish` stands in for the loops: it marks what it publishes applied.
    final class Harness: @unchecked Sendable {
        let publisher: RouteTablePublisher
        let server: DiscoveryServer
        let loops: Int

        init(
            keepalive: Duration = .milliseconds(200), maxStreams: Int = 16, policy: DiscoverPolicy = DiscoverPolicy(), loops: Int = 1,
            announceBound: Duration = .seconds(2)
        ) throws {
            self.loops = loops
            publisher = RouteTablePublisher(
                bindAddress: try SocketAddress.resolve("127.0.0.1:0"), portRange: 40_000...40_009,
                credentials: try StreamTestPKI.gatewayCredentials(), loops: loops)
            var logger = Logger(label: "discovery-test")
            logger.logLevel = .critical
            server = DiscoveryServer(
                publisher: publisher, logger: logger, keepaliveInterval: keepalive, maxStreams: maxStreams, policy: policy,
                announceBound: announceBound)
        }

        deinit { server.stop() }

        /// Publishes `services` and reports the generation applied by the loops in `appliedBy`
        /// (every loop unless given), as running loops would.
        @discardableResult
        func publish(_ services: [ExportedService], appliedBy: Range<Int>? = nil) -> PublishReport {
            let report = publisher.publish(routes: [], services: services)
            for loop in appliedBy ?? 0..<loops { publisher.loopApplied(loop, generation: report.generation) }
            return report
        }

        /// A client stream whose server side read a `discover(cluster:options:)` header and was handed to `serve`.
        func open(leaf: String = "west", cluster: String = "west", options: DiscoverOptions = []) throws -> FrameReader {
            let (client, serverSide) = try StreamTestPair.make(clientLeaf: leaf)
            try client.write(try TransportHeader.discover(cluster: cluster, options: options).encoded(), deadline: .now + .seconds(2))
            var buffer: [UInt8] = []
            let deadline = ContinuousClock.now + .seconds(2)
            while true {
                let bytes = try serverSide.read(deadline: deadline)
                if bytes.isEmpty { throw StreamTestPair.Failure(description: "the client closed before its header") }
                buffer += bytes
                switch TransportHeader.decode(buffer) {
                case .needMoreBytes: continue
                case .invalid(let e): throw StreamTestPair.Failure(description: "bad header: \(e)")
                case .complete(let header, let consumed):
                    #expect(header == .discover(cluster: cluster, options: options))
                    #expect(consumed == buffer.count)
                    server.serve(serverSide, cluster: cluster, options: header.discoverOptions ?? [])
                    return FrameReader(client)
                }
            }
        }

        /// Two client streams (`open()`), each past its first snapshot.
        func openTwoPastSnapshot() throws -> (FrameReader, FrameReader) {
            let a = try open()
            let b = try open()
            _ = try a.snapshot()
            _ = try b.snapshot()
            return (a, b)
        }
    }

    /// Reads discover frames from a client stream.
    final class FrameReader: @unchecked Sendable {
        let stream: TLSStream
        private var buffer: [UInt8] = []

        init(_ stream: TLSStream) { self.stream = stream }

        /// The next frame within `seconds`; nil when the server ended the stream cleanly. Throws on
        /// a timeout, an error, or a malformed frame.
        func next(seconds: Double = 3) throws -> DiscoveryMessage? {
            let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
            while true {
                switch DiscoveryMessage.decode(buffer) {
                case .complete(let m, let consumed):
                    buffer.removeFirst(consumed)
                    return m
                case .invalid(let e):
                    throw StreamTestPair.Failure(description: "malformed frame: \(e)")
                case .needMoreBytes:
                    let bytes = try stream.read(deadline: deadline)
                    if bytes.isEmpty { return nil }
                    buffer += bytes
                }
            }
        }

        /// The next frame that is not a keepalive.
        func nextChange(seconds: Double = 3) throws -> DiscoveryMessage? {
            let deadline = Date().addingTimeInterval(seconds)
            while true {
                let left = deadline.timeIntervalSinceNow
                guard left > 0 else { throw StreamTestPair.Failure(description: "no change within \(seconds) s") }
                guard let m = try next(seconds: left) else { return nil }
                if m != .keepalive { return m }
            }
        }

        /// A whole snapshot: begin, upserts (either kind), end (same generation); returns the generation and the upserts.
        func snapshot() throws -> (generation: UInt64, services: [DiscoveredService]) {
            guard case .snapshotBegin(let generation)? = try next() else {
                throw StreamTestPair.Failure(description: "the stream did not start with snapshotBegin")
            }
            var services: [DiscoveredService] = []
            while true {
                switch try next() {
                case .upsert(let s)?, .upsertNamed(let s)?: services.append(s)
                case .snapshotEnd(let g)?:
                    #expect(g == generation, "snapshotEnd carries the begin's generation")
                    return (generation, services)
                case let other: throw StreamTestPair.Failure(description: "unexpected frame in a snapshot: \(String(describing: other))")
                }
            }
        }

        /// Every frame that arrives within `seconds` (the stream must stay open).
        func frames(seconds: Double) throws -> [DiscoveryMessage] {
            let deadline = Date().addingTimeInterval(seconds)
            var out: [DiscoveryMessage] = []
            while deadline.timeIntervalSinceNow > 0 {
                do {
                    guard let m = try next(seconds: deadline.timeIntervalSinceNow) else {
                        throw StreamTestPair.Failure(description: "the stream ended")
                    }
                    out.append(m)
                } catch let e as TLSStreamError where e.timedOut {
                    break
                }
            }
            return out
        }

        /// Reads until the stream ends (clean or not) within `seconds`; whether it ended.
        func waitForEnd(seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while deadline.timeIntervalSinceNow > 0 {
                do {
                    if try next(seconds: deadline.timeIntervalSinceNow) == nil { return true }
                } catch let e as TLSStreamError {
                    return !e.timedOut
                } catch {
                    return true
                }
            }
            return false
        }
    }

    static func exported(
        _ ns: String, _ name: String, ports: [UInt16], exported: Bool = true, allowed: Set<WorkloadIdentity>? = nil
    ) -> ExportedService {
        ExportedService(
            namespace: ns, name: name, exported: exported, allowed: allowed,
            endpoints: Dictionary(uniqueKeysWithValues: ports.map { ($0, [endpoint]) }))
    }

    static func waitFor(seconds: Double = 3, _ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    /// web (ports given unsorted), an unexported one, one allowed only for `other`, one allowed
    /// for west, one with no ports, and one whose name is not a DNS label (cannot be encoded).
    static func initialServices() -> [ExportedService] {
        [
            exported("default", "web", ports: [8443, 80, 443]),
            exported("default", "hidden", ports: [1], exported: false),
            exported("default", "private", ports: [2], allowed: [StreamTestPKI.otherIdentity]),
            exported("ops", "db", ports: [5432], allowed: [StreamTestPKI.westIdentity]),
            exported("default", "empty", ports: []),
            exported("default", "Bad_Name", ports: [3]),
        ]
    }

    // MARK: - Snapshot

    @Test("the snapshot: begin, one upsert per exported and allowed service (key order, ports sorted), end; per peer identity")
    func snapshotFrames() throws {
        // `other` is a workload identity: it may ask only with `allow: any`.
        let h = try Harness(policy: DiscoverPolicy(allow: .any))
        let report = h.publish(Self.initialServices())
        let west = try h.open(leaf: "west")
        defer { west.stream.close() }
        let (generation, services) = try west.snapshot()
        #expect(generation == report.generation)
        #expect(generation == h.publisher.snapshot.generation)
        #expect(services == [
            DiscoveredService(namespace: "default", name: "empty", ports: []),
            DiscoveredService(namespace: "default", name: "web", ports: [80, 443, 8443]),
            DiscoveredService(namespace: "ops", name: "db", ports: [5432]),
        ])

        // Another identity of the same cluster: sees `private`, not `db`.
        let other = try h.open(leaf: "other")
        defer { other.stream.close() }
        let (_, otherServices) = try other.snapshot()
        #expect(otherServices.map { "\($0.namespace)/\($0.name)" } == ["default/empty", "default/private", "default/web"])
        #expect(h.server.activeStreams == 2)
        #expect(h.server.streamsServed == 2)
        #expect(h.server.streamsRefused == 0)
    }

    @Test("an empty registry gives an empty snapshot (begin, end)")
    func emptySnapshot() throws {
        let h = try Harness()
        let west = try h.open()
        defer { west.stream.close() }
        let (generation, services) = try west.snapshot()
        #expect(generation == 0)
        #expect(services.isEmpty)
        #expect(try west.next() == .keepalive)
    }

    @Test("visible(_:to:): exported and allowed only, ports sorted, at most 64")
    func visibleFilter() throws {
        let h = try Harness()
        let many = ExportedService(
            namespace: "default", name: "many", exported: true, allowed: nil,
            endpoints: Dictionary(uniqueKeysWithValues: (1...70).reversed().map { (UInt16($0), [Self.endpoint]) }))
        h.publish(Self.initialServices() + [many])
        let west = DiscoverServerSession.visible(h.publisher.snapshot, to: StreamTestPKI.westIdentity)
        #expect(Set(west.keys) == ["default/web", "ops/db", "default/empty", "default/Bad_Name", "default/many"])
        #expect(west["default/many"]?.ports == (1...64).map { UInt16($0) })
        #expect(west["default/web"]?.ports == [80, 443, 8443])
        let nobody = DiscoverServerSession.visible(h.publisher.snapshot, to: nil)
        #expect(nobody["default/private"] == nil && nobody["ops/db"] == nil, "an allow list needs an identity")
        #expect(nobody["default/web"] != nil)
    }

    // MARK: - Changes and keepalives

    @Test("after the snapshot: removes then upserts for what changed, in key order; nothing for unchanged services")
    func changesAfterPublish() throws {
        let h = try Harness(keepalive: .seconds(5))
        h.publish(Self.initialServices())
        let west = try h.open()
        defer { west.stream.close() }
        _ = try west.snapshot()

        // web gains a port; db goes; api is new; private now allows west; empty unchanged; hidden still hidden.
        h.publish([
            Self.exported("default", "web", ports: [80, 443, 8443, 9000]),
            Self.exported("default", "hidden", ports: [1, 2], exported: false),
            Self.exported("default", "private", ports: [2], allowed: [StreamTestPKI.otherIdentity, StreamTestPKI.westIdentity]),
            Self.exported("default", "empty", ports: []),
            Self.exported("default", "api", ports: [7000]),
        ])
        #expect(try west.nextChange() == .remove(namespace: "ops", name: "db"))
        #expect(try west.nextChange() == .upsert(DiscoveredService(namespace: "default", name: "api", ports: [7000])))
        #expect(try west.nextChange() == .upsert(DiscoveredService(namespace: "default", name: "private", ports: [2])))
        #expect(try west.nextChange() == .upsert(DiscoveredService(namespace: "default", name: "web", ports: [80, 443, 8443, 9000])))

        // A publish that changes nothing visible (endpoint addresses only, a hidden service): a
        // keepalive at once, no upsert.
        h.publish([
            ExportedService(
                namespace: "default", name: "web", exported: true, allowed: nil,
                endpoints: [80: [Self.endpoint2], 443: [Self.endpoint2], 8443: [Self.endpoint2], 9000: [Self.endpoint2]]),
            Self.exported("default", "hidden", ports: [3], exported: false),
            Self.exported("default", "private", ports: [2], allowed: [StreamTestPKI.otherIdentity, StreamTestPKI.westIdentity]),
            Self.exported("default", "empty", ports: []),
            Self.exported("default", "api", ports: [7000]),
        ])
        let quiet = try west.frames(seconds: 0.5)
        #expect(quiet.allSatisfy { $0 == .keepalive }, "nothing visible changed: \(quiet)")

        // web unexported → removed; api no longer allowed for west → removed.
        h.publish([
            Self.exported("default", "web", ports: [80], exported: false),
            Self.exported("default", "private", ports: [2], allowed: [StreamTestPKI.otherIdentity, StreamTestPKI.westIdentity]),
            Self.exported("default", "empty", ports: []),
            Self.exported("default", "api", ports: [7000], allowed: [StreamTestPKI.otherIdentity]),
        ])
        #expect(try west.nextChange() == .remove(namespace: "default", name: "api"))
        #expect(try west.nextChange() == .remove(namespace: "default", name: "web"))
        #expect(h.server.activeStreams == 1)
    }

    @Test("while nothing changes, a keepalive every keepaliveInterval")
    func keepalives() throws {
        let h = try Harness(keepalive: .milliseconds(200))
        h.publish([Self.exported("default", "web", ports: [80])])
        let west = try h.open()
        defer { west.stream.close() }
        _ = try west.snapshot()
        let started = ContinuousClock.now
        var times: [Duration] = []
        while ContinuousClock.now - started < .milliseconds(1100) {
            let m = try west.next(seconds: 1)
            #expect(m == .keepalive, "\(String(describing: m))")
            times.append(ContinuousClock.now - started)
        }
        #expect(times.count >= 3 && times.count <= 7, "\(times)")
        #expect((times.first ?? .zero) >= .milliseconds(150), "the first keepalive waits an interval: \(times)")
        if let first = times.first, let last = times.last, times.count > 1 {
            let mean = (last - first) / (times.count - 1)
            #expect(mean >= .milliseconds(160), "keepalives are spaced by the interval: \(times)")
        }
        for (a, b) in zip(times, times.dropFirst()) {
            #expect(b - a >= .milliseconds(40), "not a tight loop: \(times)")
        }
    }

    // MARK: - Ends, limits, stop

    @Test("the stream ends when the client closes (cleanly or with a reset)")
    func clientCloseEndsStream() async throws {
        let h = try Harness(keepalive: .milliseconds(100))
        let (a, b) = try h.openTwoPastSnapshot()
        #expect(h.server.activeStreams == 2)
        a.stream.close()
        #expect(await Self.waitFor { h.server.activeStreams == 1 }, "active: \(h.server.activeStreams)")
        b.stream.reset()
        #expect(await Self.waitFor { h.server.activeStreams == 0 }, "active: \(h.server.activeStreams)")
        #expect(h.server.streamsServed == 2)
    }

    @Test("maxStreams: the extra stream is reset at once; the open one is unaffected; a slot frees when a stream ends")
    func maxStreamsRefuses() async throws {
        let h = try Harness(keepalive: .milliseconds(200), maxStreams: 1)
        h.publish([Self.exported("default", "web", ports: [80])])
        let first = try h.open()
        _ = try first.snapshot()
        #expect(h.server.activeStreams == 1)

        let second = try h.open()
        defer { second.stream.close() }
        var caught: Error?
        do {
            let m = try second.next(seconds: 2)
            Issue.record("the refused stream delivered \(String(describing: m))")
        } catch {
            caught = error
        }
        let error = try #require(caught)
        let streamError = error as? TLSStreamError
        #expect(streamError != nil && streamError?.timedOut == false, "a reset, not a timeout or a clean end: \(error)")
        #expect(h.server.streamsRefused == 1)
        #expect(h.server.streamsServed == 1)
        #expect(h.server.activeStreams == 1)
        #expect(try first.next(seconds: 2) == .keepalive, "the served stream goes on")

        first.stream.close()
        #expect(await Self.waitFor { h.server.activeStreams == 0 })
        let third = try h.open()
        defer { third.stream.close() }
        let (_, services) = try third.snapshot()
        #expect(services == [DiscoveredService(namespace: "default", name: "web", ports: [80])])
        #expect(h.server.streamsServed == 2)
        #expect(h.server.streamsRefused == 1)
    }

    @Test("stop(): every stream ends and new ones are refused")
    func stopEndsStreams() async throws {
        let h = try Harness(keepalive: .milliseconds(200))
        let (a, b) = try h.openTwoPastSnapshot()
        h.server.stop()
        #expect(a.waitForEnd(seconds: 3), "stream a ended")
        #expect(b.waitForEnd(seconds: 3), "stream b ended")
        #expect(await Self.waitFor { h.server.activeStreams == 0 })
        let c = try h.open()
        defer { c.stream.close() }
        #expect(c.waitForEnd(seconds: 2), "refused after stop")
        #expect(h.server.streamsRefused == 1)
        #expect(h.server.streamsServed == 2)
    }
}
