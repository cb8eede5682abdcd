import MeshgateLoad

/// client → meshgate originating mTLS (west) → meshgate terminating mTLS (east, allows west) → `upstream`.
struct TLSChain {
    let originator: MeshgateProcess
    let terminator: MeshgateProcess
    /// Where clients connect (the originator's listener).
    let entry: Endpoint
    /// The terminator's (mTLS) listener.
    let terminatorEndpoint: Endpoint

    init(upstream: Endpoint, backend: String, pki: TestPKIFiles, originatorExtra: [String] = [], terminatorExtra: [String] = []) throws {
        let (t, tEndpoint) = try MeshgateProcess.proxy(
            upstreams: [upstream], backend: backend,
            extra: pki.terminateFlags(allow: [pki.westIdentity]) + terminatorExtra)
        let (o, oEndpoint) = try MeshgateProcess.proxy(
            upstreams: [tEndpoint], backend: backend, extra: pki.originateFlags() + originatorExtra)
        originator = o
        terminator = t
        entry = oEndpoint
        terminatorEndpoint = tEndpoint
    }

    /// Both processes' logs, for failure messages.
    var logs: String { "originator:\n\(originator.stderr.suffix(3000))\nterminator:\n\(terminator.stderr.suffix(3000))" }
}
