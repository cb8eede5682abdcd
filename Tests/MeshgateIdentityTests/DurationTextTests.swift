import MeshgateIdentity
import Testing

@Suite("Duration text: --valid values and time left")
struct DurationTextTests {
    @Test("parses the units of --valid", arguments: [
        ("24h", 86_400), ("90m", 5_400), ("30d", 2_592_000), ("8760h", 31_536_000), ("87600h", 315_360_000),
        ("1h30m", 5_400), ("45s", 45),
    ] as [(String, Int64)])
    func parses(_ text: String, _ seconds: Int64) {
        #expect(DurationText.parse(text) == .seconds(seconds))
    }

    @Test("refuses what is not a duration", arguments: ["", "24", "h", "1.5h", "-1h", "24x", "1h 30m", "99999999999999999999h"])
    func refuses(_ text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test("formats compactly, two largest units, zero tails dropped", arguments: [
        (86_399, "23h59m"), (7_200, "2h"), (330, "5m30s"), (45, "45s"), (0, "0s"), (315_359_700, "3649d23h"), (-7_200, "2h"),
    ] as [(Int64, String)])
    func formats(_ seconds: Int64, _ text: String) {
        #expect(DurationText.format(seconds: seconds) == text)
    }
}
