#if canImport(Glibc)
import Glibc
#endif

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

    /// Connections that fit: (limit − open now − per-loop backend descriptors − reserve) / 2.
    static func connections(limit: Int, threads: Int) -> Int {
        let reserve = 16 + 4 * threads
        return (limit - openNow() - reserve) / 2
    }
}
