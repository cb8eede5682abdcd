import Testing

@testable import MeshgateDemo

/// How the demo prints numbers, lists and answers.
@Suite struct DemoOutputTests {
    @Test("durations, counts, sizes and lists")
    func formats() {
        #expect(DemoOutput.ms(0.00042) == "0.42 ms")
        #expect(DemoOutput.ms(0.012) == "12 ms")
        #expect(DemoOutput.s(1.24) == "1.2 s")
        #expect(DemoOutput.count(1, "probe") == "1 probe")
        #expect(DemoOutput.count(3, "probe") == "3 probes")
        #expect(DemoOutput.bytes(340) == "340 B")
        #expect(DemoOutput.bytes(1234) == "1.2 KB")
        #expect(DemoOutput.bytes(2_500_000) == "2.5 MB")
        #expect(DemoOutput.list([]) == "")
        #expect(DemoOutput.list(["a"]) == "a")
        #expect(DemoOutput.list(["a", "b", "c"]) == "a, b and c")
    }

    @Test("quantiles of latencies: nearest rank, nil when empty")
    func quantiles() {
        #expect(DemoOutput.quantile([], 0.5) == nil)
        #expect(DemoOutput.quantile([3, 1, 2], 0.5) == 2)
        #expect(DemoOutput.quantile([3, 1, 2], 0.99) == 3)
        #expect(DemoOutput.quantile([3, 1, 2], 0) == 1)
    }

    @Test("an answer is quoted by its first line, at most 90 characters")
    func quotes() {
        #expect(DemoOutput.quote("hello\nworld") == "\"hello\"")
        #expect(DemoOutput.quote(String(repeating: "x", count: 100)) == "\"" + String(repeating: "x", count: 89) + "…\"")
    }
}
