#if canImport(Glibc)
import Glibc
#endif

/// The thread a loop runs on, recorded when it starts running. Debug builds check the loop's
/// entry points against it (a loop-bound object reached from another thread is a data race);
/// release builds store and check nothing.
public struct LoopThreadOwner {
    #if DEBUG
    private var owner: pthread_t? = nil
    #endif

    public init() {}

    /// Records the calling thread as the owner (the loop starts running on it).
    public mutating func claim() {
        #if DEBUG
        owner = pthread_self()
        #endif
    }

    /// Debug builds: traps unless the caller is the owner (once one is recorded).
    @inline(__always)
    public func assertOwned(_ what: @autoclosure () -> String = "a loop-bound object", file: StaticString = #fileID, line: UInt = #line) {
        #if DEBUG
        if let owner {
            assert(pthread_equal(owner, pthread_self()) != 0, "\(what()) used off its loop's thread", file: file, line: line)
        }
        #endif
    }
}
