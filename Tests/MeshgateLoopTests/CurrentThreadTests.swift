import Foundation
import MeshgateLoop
import Testing

/// Kernel-visible thread names (at most 15 bytes, index kept whole) and the allowed CPU list.
@Suite struct CurrentThreadTests {
    @Test(arguments: [(0, "meshgate-loop-0"), (9, "meshgate-loop-9"), (10, "meshgate-loop10"), (255, "meshgate-loo255")])
    func namesKeepTheIndexWithinFifteenBytes(index: Int, expected: String) {
        #expect(CurrentThread.name(prefix: "meshgate-loop-", index: index) == expected)
    }

    @Test func aNamedThreadShowsItsNameInProc() throws {
        let comm = LockedText()
        let done = DispatchSemaphore(value: 0)
        let t = Thread {
            try? CurrentThread.setName("mg-test-thread")
            comm.text = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
            done.signal()
        }
        t.start()
        done.wait()
        #expect(comm.text == "mg-test-thread\n")
    }

    @Test func aNameOverFifteenBytesIsRefused() {
        #expect(throws: Errno(rawValue: ERANGE)) { try CurrentThread.setName("sixteen-bytes-xx") }
    }

    @Test func theAllowedCPUsAreOnlineAndAscending() throws {
        let cpus = try CurrentThread.allowedCPUs()
        #expect(!cpus.isEmpty)
        #expect(cpus == cpus.sorted())
        #expect(cpus.count <= ProcessInfo.processInfo.processorCount)
    }
}

/// A string written on one thread and read on another after a semaphore.
private final class LockedText: @unchecked Sendable {
    private let lock = NSLock()
    private var value = ""
    var text: String {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
