#if canImport(Glibc)
import Glibc
#endif
import MeshgateLoop

/// How many connections the process's descriptor limit can hold. Every proxied connection
/// needs two sockets; pipes are optional (a direction copies when none can be had). Keeping the
/// connection count under the budget means an accepted client always finds a descriptor for
/// its upstream socket, so clients can never hold every descriptor while waiting for one.
enum DescriptorBudget {
    /// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force.
    static func raiseSoftLimit() -> Int {
        var r = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &r) == 0 else { return 1024 }
        if r.rlim_cur < r.rlim_max {
            var raised = r
            raised.rlim_cur = r.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { r = raised }
        }
        return r.rlim_cur >= rlim_t(1 << 30) ? 1 << 30 : Int(r.rlim_cur)
    }

    /// Descriptors open right now (the runtime's, the listeners', the logs').
    static func openNow() -> Int {
        guard let d = opendir("/proc/self/fd") else { return 16 }
        defer { closedir(d) }
        var n = 0
        while readdir(d) != nil { n += 1 }
        return max(0, n - 3)  // ".", "..", and the directory's own descriptor
    }

    /// Descriptors the data plane never takes: the last `controlReserve(limit:)` of
    /// RLIMIT_NOFILE stay for the admin endpoint, link probes, discover streams, file reloads
    /// and logs, so these keep working while the data plane is at its limit. 64, or 1 % of the
    /// limit when that is more, but at most a quarter of the limit (a tiny limit keeps room for
    /// connections).
    static func controlReserve(limit: Int) -> Int {
        min(max(64, limit / 100), limit / 4)
    }

    /// The lowest descriptor number the data plane may not hold: `limit − controlReserve`. The
    /// kernel hands out the lowest free number, so a new descriptor at or above it means every
    /// number below is taken, and the data plane gives it back at once (as if the call had failed
    /// with EMFILE); the numbers from here to the limit are left to the control plane.
    static func ceiling(limit: Int) -> Int32 {
        Int32(clamping: limit - controlReserve(limit: limit))
    }

    /// The lowest free descriptor number now (a probe: an eventfd opened and closed again), or
    /// nil when there is none (EMFILE/ENFILE).
    static func lowestFree() -> Int32? {
        Socket.lowestFreeDescriptor()
    }

    /// Whether the data plane is at its share: no descriptor below `ceiling` is free.
    static func exhausted(ceiling: Int32) -> Bool {
        guard let fd = lowestFree() else { return true }
        return fd >= ceiling
    }

    /// Connections that fit: (ceiling − open now − per-loop backend descriptors − slack) / 2.
    static func connections(limit: Int, threads: Int) -> Int {
        let slack = 16 + 4 * threads
        return (Int(ceiling(limit: limit)) - openNow() - slack) / 2
    }
}
