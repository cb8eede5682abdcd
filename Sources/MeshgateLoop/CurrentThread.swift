import CMeshgateShim

/// What the calling thread sets about itself for the kernel: the name ps, top, perf and
/// /proc/<pid>/task/*/comm show, and the CPU it runs on.
public enum CurrentThread {
    /// The longest name the kernel keeps (TASK_COMM_LEN − 1 bytes).
    public static let maxNameLength = 15

    /// `prefix` followed by `index`, cut to `maxNameLength` bytes from the end of the prefix so
    /// the index stays whole: "meshgate-loop-9", "meshgate-loop10", "meshgate-loo100".
    public static func name(prefix: String, index: Int) -> String {
        let suffix = String(index)
        let room = max(0, maxNameLength - suffix.utf8.count)
        return String(decoding: prefix.utf8.prefix(room), as: UTF8.self) + suffix
    }

    /// Names the calling thread (at most `maxNameLength` bytes; longer names are refused with ERANGE).
    public static func setName(_ name: String) throws(Errno) {
        let rc = mg_thread_set_name(name)
        if rc != 0 { throw Errno(rawValue: rc) }
    }

    /// Pins the calling thread to `cpu` (sched_setaffinity on its own thread id).
    public static func pin(toCPU cpu: Int) throws(Errno) {
        let rc = mg_thread_pin_cpu(Int32(clamping: cpu))
        if rc != 0 { throw Errno(rawValue: rc) }
    }

    /// The CPUs the process may run on (its main thread's affinity mask, as `taskset` or a
    /// cgroup cpuset left it), ascending.
    public static func allowedCPUs() throws(Errno) -> [Int] {
        let capacity = 1024  // CPU_SETSIZE
        var cpus = [Int32](repeating: 0, count: capacity)
        let n = mg_allowed_cpus(&cpus, Int32(capacity))
        if n < 0 { throw Errno(rawValue: -n) }
        return cpus.prefix(Int(n)).map(Int.init)
    }
}
