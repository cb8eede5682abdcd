import MeshgateLoop
import Testing

@testable import MeshgateProxy

/// Which CPU each loop pins itself to: loop i on the i-th allowed CPU, or none with a reason.
@Suite struct LoopPinningTests {
    @Test func offPinsNothingAndSaysNothing() {
        let plan = LoopPinning.plan(.off, threads: 2, allowed: .success([0, 1]))
        #expect(plan == LoopPinning(cpus: [], notPinnedReason: nil))
        #expect(plan.cpu(forLoop: 0) == nil)
    }

    @Test func autoTakesTheAllowedCPUsInOrder() {
        let plan = LoopPinning.plan(.auto, threads: 2, allowed: .success([2, 5, 7]))
        #expect(plan == LoopPinning(cpus: [2, 5], notPinnedReason: nil))
        #expect(plan.cpu(forLoop: 1) == 5)
        #expect(plan.cpu(forLoop: 2) == nil)
    }

    @Test func autoWithMoreLoopsThanCPUsPinsNoneAndSaysWhy() {
        let plan = LoopPinning.plan(.auto, threads: 3, allowed: .success([0, 1]))
        #expect(plan.cpus.isEmpty)
        #expect(plan.notPinnedReason == "CPU affinity auto: 3 loops but only 2 allowed CPU(s) (0,1); loops not pinned")
    }

    @Test func autoWithoutTheAllowedSetPinsNoneAndSaysWhy() {
        let plan = LoopPinning.plan(.auto, threads: 1, allowed: .failure(.invalidArgument))
        #expect(plan.cpus.isEmpty)
        #expect(plan.notPinnedReason?.contains("cannot read the allowed CPUs (sched_getaffinity:") == true)
    }
}
