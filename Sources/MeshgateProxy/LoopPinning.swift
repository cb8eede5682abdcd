import MeshgateLoop

/// Which CPU each loop thread pins itself to, decided once at start from `CPUAffinity` and the
/// CPUs the process may run on.
struct LoopPinning: Equatable {
    /// The CPU of loop i (empty: no loop is pinned).
    let cpus: [Int]
    /// Why no loop is pinned although `auto` was asked for (logged once); nil otherwise.
    let notPinnedReason: String?

    /// The plan for `threads` loops; `allowed` is the process's CPU list, or why it could not be read.
    static func plan(_ affinity: CPUAffinity, threads: Int, allowed: Result<[Int], Errno>) -> LoopPinning {
        guard affinity == .auto else { return LoopPinning(cpus: [], notPinnedReason: nil) }
        switch allowed {
        case .failure(let e):
            return LoopPinning(cpus: [], notPinnedReason: "CPU affinity auto: cannot read the allowed CPUs (sched_getaffinity: \(e)); loops not pinned")
        case .success(let cpus) where cpus.count < threads:
            return LoopPinning(
                cpus: [],
                notPinnedReason: "CPU affinity auto: \(threads) loops but only \(cpus.count) allowed CPU(s) (\(cpus.map(String.init).joined(separator: ","))); loops not pinned")
        case .success(let cpus):
            return LoopPinning(cpus: Array(cpus.prefix(threads)), notPinnedReason: nil)
        }
    }

    /// The plan for this process.
    static func plan(_ affinity: CPUAffinity, threads: Int) -> LoopPinning {
        guard affinity == .auto else { return plan(affinity, threads: threads, allowed: .success([])) }
        return plan(affinity, threads: threads, allowed: Result { () throws(Errno) in try CurrentThread.allowedCPUs() })
    }

    /// The CPU loop `index` pins itself to, if any.
    func cpu(forLoop index: Int) -> Int? {
        cpus.indices.contains(index) ? cpus[index] : nil
    }
}
