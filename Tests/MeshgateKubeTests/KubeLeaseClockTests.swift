import Foundation
import Testing

@testable import MeshgateKube

@Suite struct KubeLeaseClockTests {
    private let t0 = Date(timeIntervalSince1970: 1_000_000)

    @Test func expiryFromAnHonestRenewTime() {
        // Renewed 0.5 s before we saw it: expires 15 s after the renewal.
        let e = KubeLeaseClock.expiry(
            renewTime: t0.addingTimeInterval(-0.5), observedAt: t0, retryPeriod: 2, leaseDuration: 15)
        #expect(e == t0.addingTimeInterval(14.5))
    }

    @Test func renewTimeFromTheFutureIsClampedToObservation() {
        let e = KubeLeaseClock.expiry(
            renewTime: t0.addingTimeInterval(3600), observedAt: t0, retryPeriod: 2, leaseDuration: 15)
        #expect(e == t0.addingTimeInterval(15))
    }

    @Test func ancientRenewTimeIsClampedToOneRetryBeforeObservation() {
        let e = KubeLeaseClock.expiry(
            renewTime: t0.addingTimeInterval(-3600), observedAt: t0, retryPeriod: 2, leaseDuration: 15)
        #expect(e == t0.addingTimeInterval(13))
        let missing = KubeLeaseClock.expiry(renewTime: nil, observedAt: t0, retryPeriod: 2, leaseDuration: 15)
        #expect(missing == t0.addingTimeInterval(15))
    }

    @Test func holderStepsDownBeforeAnyoneSeesExpiry() {
        #expect(KubeLeaseClock.renewDeadline(renewStart: t0, retryPeriod: 2, leaseDuration: 15) == t0 + 13)
        #expect(KubeLeaseClock.renewDeadline(renewStart: t0, retryPeriod: 2, leaseDuration: 2) == t0 + 1.5)
        // The deadline is always before the earliest expiry another replica computes.
        for retry in [0.5, 1, 2, 5] {
            for duration in [1.0, 2, 3, 15] {
                let deadline = KubeLeaseClock.renewDeadline(renewStart: t0, retryPeriod: retry, leaseDuration: duration)
                let expiry = KubeLeaseClock.expiry(
                    renewTime: t0, observedAt: t0, retryPeriod: retry, leaseDuration: duration)
                #expect(deadline < expiry)
            }
        }
        #expect(KubeLeaseClock.durationSeconds(2.2) == 3)
        #expect(KubeLeaseClock.durationSeconds(0.2) == 1)
    }

    @Test func backoffCapsDoubleUpToMaxAndJitterStaysBelow() {
        let b = KubeBackoff(initial: .milliseconds(250), max: .seconds(30))
        #expect(b.cap(attempt: 0) == .milliseconds(250))
        #expect(b.cap(attempt: 2) == .seconds(1))
        #expect(b.cap(attempt: 7) == .seconds(30))
        #expect(b.cap(attempt: 1000) == .seconds(30))
        var sawSmall = false
        for attempt in 0..<50 {
            let d = b.delay(attempt: attempt % 8)
            #expect(d >= .zero && d <= b.cap(attempt: attempt % 8))
            if d < b.cap(attempt: attempt % 8) / 2 { sawSmall = true }
        }
        #expect(sawSmall)  // full jitter, not "cap ± a little"
    }
}
