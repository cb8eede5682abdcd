import CMeshgateShim

/// The epoll constants the harness uses, taken from `CMeshgateShim` (which wraps `<sys/epoll.h>`;
/// Swift's Glibc module does not include it). The calls themselves are `mg_epoll_*`, used by `Poller`.
enum Epoll {
    @inline(__always) static var input: UInt32 { mg_EPOLLIN }
    @inline(__always) static var output: UInt32 { mg_EPOLLOUT }
    @inline(__always) static var error: UInt32 { mg_EPOLLERR }
    @inline(__always) static var hangUp: UInt32 { mg_EPOLLHUP }
    @inline(__always) static var readHangUp: UInt32 { mg_EPOLLRDHUP }
    @inline(__always) static var exclusive: UInt32 { mg_EPOLLEXCLUSIVE }

    @inline(__always) static var ctlAdd: Int32 { mg_EPOLL_CTL_ADD }
    @inline(__always) static var ctlDelete: Int32 { mg_EPOLL_CTL_DEL }
    @inline(__always) static var ctlModify: Int32 { mg_EPOLL_CTL_MOD }

    /// The most events `mg_epoll_wait` returns in one call.
    static let maxEventsPerWait = 256
}
