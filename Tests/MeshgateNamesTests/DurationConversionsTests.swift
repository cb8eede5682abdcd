import MeshgateNames
import Testing

/// `Duration.seconds` and `Duration.milliseconds`, the one conversion to plain numbers.
@Suite struct DurationConversionsTests {
    @Test(arguments: [
        (Duration.zero, 0.0), (.seconds(5), 5), (.milliseconds(1500), 1.5), (.milliseconds(250), 0.25),
        (.nanoseconds(1), 1e-9), (.seconds(31_536_000), 31_536_000), (.milliseconds(-1500), -1.5),
    ])
    func seconds(duration: Duration, expected: Double) {
        #expect(abs(duration.seconds - expected) <= abs(expected) * 1e-12)
    }

    @Test(arguments: [
        (Duration.zero, Int64(0)), (.milliseconds(250), 250), (.seconds(2), 2000), (.microseconds(1001), 2),
        (.nanoseconds(1), 1), (.microseconds(999), 1), (.milliseconds(1) + .nanoseconds(1), 2), (.seconds(3600), 3_600_000),
    ])
    func millisecondsRoundUp(duration: Duration, expected: Int64) {
        #expect(duration.milliseconds == expected)
    }
}
