import MeshgateWire
import Testing

@testable import MeshgateControl
import MeshgateTestKit

extension LinkMirrorTests {
    /// A gateway whose first discover stream offends the mirror: it sends a snapshot of `web` and
    /// `db`, then, once the test opens `offend`, whatever `offence` sends, and waits for the mirror
    /// to end the stream. The second stream sends a snapshot of `api` once `second` opens.
    /// `stop()` opens the gates and stops the server.
    struct OffendingStream {
        let web = LinkMirrorTests.service("default", "web", [80])
        let db = LinkMirrorTests.service("ops", "db", [5432])
        let api = LinkMirrorTests.service("default", "api", [8080])
        let offend = MirrorGate()
        let second = MirrorGate()
        /// Whether the mirror ended the first stream.
        let firstEnded = LockedBox(false)
        let server: MirrorTestServer

        init(offence: @escaping @Sendable (MirrorDiscoverSession, DiscoveredService) -> Void) throws {
            let (web, db, api) = (web, db, api)
            let (offend, second, firstEnded) = (offend, second, firstEnded)
            server = try MirrorTestServer(scripts: [
                { session in
                    session.send(LinkMirrorTests.snapshot(1, [web, db]))
                    guard offend.wait() else { return }
                    offence(session, web)
                    firstEnded.value = session.waitForPeerEnd(seconds: 5)
                },
                { session in
                    guard second.wait() else { return }
                    session.send(LinkMirrorTests.snapshot(2, [api]))
                },
            ])
        }

        func stop() {
            offend.open(); second.open()
            server.stop()
        }

        /// Expects `mirror` to sync on the first snapshot; opens `offend`; expects the mirror to end
        /// that stream and reconnect, keeping `web` and `db` (and synced) meanwhile.
        func expectEndedByTheMirror(_ mirror: LinkMirror, sourceLocation: SourceLocation = #_sourceLocation) async {
            let byKey = LinkMirrorTests.byKey
            #expect(await eventually { mirror.state.synced }, sourceLocation: sourceLocation)
            #expect(mirror.state.services == byKey([web, db]), sourceLocation: sourceLocation)
            offend.open()
            #expect(
                await eventually(timeout: .seconds(5)) { server.discoverConnections == 2 }, "the mirror reconnected",
                sourceLocation: sourceLocation)
            #expect(await eventually { firstEnded.value }, "the mirror ended the offending stream", sourceLocation: sourceLocation)
            #expect(
                mirror.state.services == byKey([web, db]), "the services stay as last known while reconnecting",
                sourceLocation: sourceLocation)
            #expect(mirror.state.synced, sourceLocation: sourceLocation)
        }

        /// Opens `second`; expects its snapshot (`api` alone) to replace the mirror's services.
        func expectSecondSnapshotReplaces(_ mirror: LinkMirror, sourceLocation: SourceLocation = #_sourceLocation) async {
            second.open()
            #expect(
                await eventually { mirror.state.services == LinkMirrorTests.byKey([api]) }, "the new stream's snapshot replaces them",
                sourceLocation: sourceLocation)
        }
    }
}
