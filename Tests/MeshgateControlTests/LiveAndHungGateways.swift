@testable import MeshgateControl

/// One answering test gateway and `hungCount` that accept but never answer; stop them all.
struct LiveAndHungGateways {
    let live: MirrorTestServer
    let hung: [MirrorTestServer]

    init(hungCount: Int) throws {
        live = try MirrorTestServer()
        hung = try (0..<hungCount).map { _ in try MirrorTestServer(mode: .hung) }
    }

    func stop() {
        live.stop()
        for h in hung { h.stop() }
    }
}
