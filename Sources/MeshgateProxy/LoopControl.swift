import Logging
import Atomics
import Foundation
import MeshgateLoop

/// What another thread can ask of a loop.
enum LoopCommand: Sendable {
    /// Stop accepting, finish open connections, then end.
    case drain
    /// End now, resetting what is still open.
    case stop
    /// A new route table was published: apply it.
    case routes
}

/// The mailbox between the control side and one loop: commands behind a lock, plus the
/// loop's waker. Any thread may `send`; only the loop `take`s.
final class LoopControl: @unchecked Sendable {
    private let lock = NSLock()
    private var queue: [LoopCommand] = []
    /// Set by the loop once its backend exists.
    private var waker: Waker?
    private var pendingWake = false

    func attach(_ waker: Waker) {
        lock.lock()
        self.waker = waker
        let wake = pendingWake
        lock.unlock()
        if wake { waker.wake() }
    }

    func send(_ command: LoopCommand) {
        lock.lock()
        queue.append(command)
        let w = waker
        if w == nil { pendingWake = true }
        lock.unlock()
        w?.wake()
    }

    func take() -> [LoopCommand] {
        lock.lock()
        defer { lock.unlock() }
        let q = queue
        queue.removeAll()
        return q
    }
}

/// State all loops of one proxy share: the process-wide open-connection count and limit.
final class SharedProxyState: Sendable {
    let active = ManagedAtomic<Int>(0)
    /// The effective connection limit (`--max-connections`, lowered to fit RLIMIT_NOFILE).
    let maxConnections: Int
    /// TLS sides switch to kernel TLS after the handshake (requested and the kernel has it).
    let kernelTLS: Bool
    /// kTLS was requested but the kernel cannot do it: each TLS side counts `ktls_unavailable`.
    let kernelTLSMissing: Bool
    /// Descriptor numbers from here up are the control plane's reserve: the data plane gives
    /// back at once any it gets (`DescriptorBudget.ceiling`).
    let descriptorCeiling: Int32

    /// Warnings of all loops, rate limited per reason.
    let limits: RateLimitedLog
    /// Gateway traffic series, shared by the loops.
    let trafficSeries = TrafficRegistry()
    /// Warm-pool counts per linked cluster, shared by the loops.
    let poolSeries = PoolRegistry()

    init(
        maxConnections: Int, logger: Logger, kernelTLS: Bool = false, kernelTLSMissing: Bool = false,
        descriptorCeiling: Int32 = .max
    ) {
        self.maxConnections = maxConnections
        self.descriptorCeiling = descriptorCeiling
        self.limits = RateLimitedLog(logger: logger)
        self.kernelTLS = kernelTLS
        self.kernelTLSMissing = kernelTLSMissing
    }
}
