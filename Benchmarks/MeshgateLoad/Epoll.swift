#if canImport(Glibc)
import Glibc
#endif

/// The epoll system calls, looked up at run time.
///
/// Swift's Glibc module does not include `<sys/epoll.h>`, and this target's only C dependency is
/// OpenSSL, so the three functions are resolved from the C library with `dlsym` and called through
/// C function pointers. `struct epoll_event` is laid out by hand (packed on x86_64).
enum Epoll {
    static let input: UInt32 = 0x001  // EPOLLIN
    static let output: UInt32 = 0x004  // EPOLLOUT
    static let error: UInt32 = 0x008  // EPOLLERR
    static let hangUp: UInt32 = 0x010  // EPOLLHUP
    static let readHangUp: UInt32 = 0x2000  // EPOLLRDHUP
    static let exclusive: UInt32 = 1 << 28  // EPOLLEXCLUSIVE

    static let ctlAdd: Int32 = 1
    static let ctlDelete: Int32 = 2
    static let ctlModify: Int32 = 3
    static let closeOnExec: Int32 = 0o2_000_000  // EPOLL_CLOEXEC == O_CLOEXEC

    #if arch(x86_64)
    /// Size of `struct epoll_event`: packed to 12 bytes on x86_64.
    static let eventSize = 12
    static let dataOffset = 4
    #else
    static let eventSize = 16
    static let dataOffset = 8
    #endif

    typealias Create1 = @convention(c) (Int32) -> Int32
    typealias Ctl = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    typealias Wait = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32

    private static func symbol<F>(_ name: String, as type: F.Type) -> F {
        let handle = dlopen(nil, RTLD_NOW)
        guard let pointer = dlsym(handle, name) else { fatalError("MeshgateLoad: \(name) not found in the C library") }
        return unsafeBitCast(pointer, to: type)
    }

    static let create1: Create1 = symbol("epoll_create1", as: Create1.self)
    static let ctl: Ctl = symbol("epoll_ctl", as: Ctl.self)
    static let wait: Wait = symbol("epoll_wait", as: Wait.self)

    /// Writes one `struct epoll_event` at `pointer`.
    static func store(events: UInt32, data: UInt64, at pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: events, as: UInt32.self)
        pointer.storeBytes(of: data, toByteOffset: dataOffset, as: UInt64.self)
    }

    /// Reads the event bits and data of the `struct epoll_event` at `pointer`.
    static func load(at pointer: UnsafeRawPointer) -> (events: UInt32, data: UInt64) {
        (pointer.loadUnaligned(as: UInt32.self), pointer.loadUnaligned(fromByteOffset: dataOffset, as: UInt64.self))
    }
}
