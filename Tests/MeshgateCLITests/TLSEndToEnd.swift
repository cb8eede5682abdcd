import Testing

/// The end-to-end mTLS suites of `meshgate proxy` (chain, interop, refusals) run one test at a
/// time: their timing and memory checks must not compete with each other for the two cores.
@Suite(.serialized) enum TLSEndToEnd {
    static let backends = ["uring", "epoll"]
}
