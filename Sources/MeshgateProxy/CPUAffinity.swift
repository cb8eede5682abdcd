/// Whether each loop thread pins itself to a CPU of its own (`--cpu-affinity`, `cpuAffinity:`).
public enum CPUAffinity: String, Hashable, Sendable, CaseIterable {
    /// Loops run wherever the scheduler puts them.
    case off
    /// Loop i pins itself to the i-th CPU the process may run on, when there are at least as
    /// many such CPUs as loops (otherwise no loop is pinned and the start-up log says why).
    case auto
}
