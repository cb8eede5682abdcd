#if canImport(Glibc)
import Glibc
#endif

/// A joinable POSIX thread running one closure (each engine loop gets its own).
final class EngineThread {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    private var thread = pthread_t()
    private var joined = false

    /// Starts a thread running `body`.
    init(_ body: @escaping () -> Void) throws {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            body.run()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<Body>.fromOpaque(context).release()
            throw LoadError.system(call: "pthread_create", errno: rc)
        }
    }

    /// Waits for the thread to finish (once; later calls return at once).
    func join() {
        if joined { return }
        joined = true
        pthread_join(thread, nil)
    }

    /// Runs `body(i)` for `i` in `0..<count` on `count` threads and returns the results in order.
    static func runAll<T>(count: Int, _ body: @escaping (Int) -> T) -> [T] {
        if count <= 1 { return [body(0)] }
        let results = LockedValue<[Int: T]>([:])
        var threads: [EngineThread] = []
        for i in 0..<count {
            let work = { let r = body(i); results.withLock { $0[i] = r } }
            if let t = try? EngineThread(work) { threads.append(t) } else { work() }
        }
        threads.forEach { $0.join() }
        let map = results.value
        return (0..<count).compactMap { map[$0] }
    }
}
