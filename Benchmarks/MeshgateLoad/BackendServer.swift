#if canImport(Glibc)
import Glibc
#endif

/// A real TCP backend server running on its own thread(s), with one of a few fixed behaviors.
/// Port 0 picks an ephemeral port; `endpoint` tells which.
public final class BackendServer: @unchecked Sendable {
    /// The seed of the deterministic bytes `drainThenReply` sends.
    public static let replySeed: UInt64 = 0x5EED_0000_BAC4_E4D0
    /// Size of the buffer `source` sends from, over and over.
    public static let sourceBufferSize = 256 * 1024

    /// The behavior every connection gets.
    public let behavior: Behavior
    /// The address the server listens on (with the bound port).
    public let endpoint: Endpoint
    /// The bound port.
    public var port: UInt16 { endpoint.port }

    private let listenFD: Int32
    private let counters = LockedValue(BackendStats())
    private var workers: [BackendWorker] = []
    private var threads: [EngineThread] = []
    private let stopState = LockedValue(false)

    /// Starts listening on `host:port` and serving with `threads` engine threads.
    public init(host: String = "127.0.0.1", port: UInt16 = 0, behavior: Behavior, threads: Int = 1) throws {
        self.behavior = behavior
        let address = try SocketAddress(resolving: Endpoint(host: host, port: port))
        let fd = try Socket.makeTCP(family: address.family)
        Socket.setOption(fd, SO_REUSEADDR, 1)
        if address.withSockaddr({ bind(fd, $0, $1) }) != 0 || listen(fd, 4096) != 0 {
            let error = LoadError.lastErrno("bind/listen \(Endpoint(host: host, port: port))")
            close(fd)
            throw error
        }
        let bound: SocketAddress
        do { bound = try SocketAddress(localOf: fd) } catch {
            close(fd)
            throw error
        }
        listenFD = fd
        endpoint = Endpoint(host: host, port: bound.port)
        let source = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.sourceBufferSize, alignment: 8)
        var stream = PatternStream(seed: Self.replySeed ^ 0x50_55_52_43_45)  // "SOURCE"
        stream.fill(source)
        let sourceBuffer = SharedBuffer(source)
        do {
            for _ in 0..<max(1, threads) {
                let worker = try BackendWorker(
                    listenFD: fd, behavior: behavior, counters: counters, sourceBuffer: sourceBuffer)
                workers.append(worker)
                self.threads.append(try EngineThread { worker.run() })
            }
        } catch {
            stopWorkers()
            close(fd)
            throw error
        }
    }

    deinit { stop() }

    /// Counters so far.
    public var stats: BackendStats { counters.value }

    /// Closes the listener and every connection, and joins the engine threads. Safe to call twice.
    public func stop() {
        let first = stopState.withLock { stopped -> Bool in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        stopWorkers()
        close(listenFD)
    }

    private func stopWorkers() {
        workers.forEach { $0.requestStop() }
        threads.forEach { $0.join() }
        threads.removeAll()
        workers.removeAll()
    }
}

/// A buffer allocated once and shared read-only by worker threads; freed with its last owner.
final class SharedBuffer: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer
    init(_ bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }
    deinit { bytes.deallocate() }
}
