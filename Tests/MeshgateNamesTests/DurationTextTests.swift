import MeshgateNames
import Testing

/// The one duration grammar: config files, flags and the load tools.
@Suite struct DurationTextTests {
    @Test(arguments: [
        ("250ms", Duration.milliseconds(250)), ("5s", .seconds(5)), ("10m", .seconds(600)), ("1h", .seconds(3600)),
        ("1d", .seconds(86400)), ("1h30m", .seconds(5400)), ("1.5s", .milliseconds(1500)), ("0s", .zero), ("0", .zero),
        ("100us", .microseconds(100)), ("100µs", .microseconds(100)), ("7ns", .nanoseconds(7)), (" 2m ", .seconds(120)),
        ("8760h", .seconds(31_536_000)), ("1m1ms", .milliseconds(60_001)),
    ])
    func parses(text: String, expected: Duration) throws {
        #expect(try DurationText.parse(text) == expected)
        #expect(DurationText.value(text) == expected)
    }

    @Test(arguments: [
        ("", "empty duration"), ("5", "'5' has no unit"), ("1h30", "'1h30' has no unit"), ("5x", "unknown unit 'x'"),
        ("s", "not a duration"), ("-5s", "not a duration"), ("5 s", "unknown unit ' s'"), ("1e3s", "unknown unit 'e'"),
        ("99999999999999999999h", "too long"), ("200000d200000d", "too long"),
    ])
    func refuses(text: String, why: String) {
        #expect(DurationText.value(text) == nil)
        #expect {
            try DurationText.parse(text)
        } throws: { error in
            (error as? DurationText.Problem)?.description.contains(why) == true
        }
    }

    @Test func everyProblemShowsTheGrammar() {
        #expect(throws: DurationText.Problem.self) { try DurationText.parse("5") }
        let problem = try? DurationText.parse("5")
        #expect(problem == nil)
        do {
            _ = try DurationText.parse("5")
        } catch {
            #expect(error.description.contains("500ms, 5s, 10m, 1h, 1d"))
        }
    }

    @Test(arguments: [
        (Duration.seconds(90), "1m30s"), (.milliseconds(500), "500ms"), (.seconds(86400 + 3600), "1d1h"), (.zero, "0s"),
        (.microseconds(1500), "1ms500us"), (.nanoseconds(-5), "0s"), (.milliseconds(250), "250ms"),
    ])
    func formatsExactlyAndParsesBack(duration: Duration, text: String) throws {
        #expect(DurationText.format(duration) == text)
        if duration > .zero { #expect(try DurationText.parse(text) == duration) }
    }

    @Test(arguments: [
        (86_399, "23h59m"), (7_200, "2h"), (330, "5m30s"), (45, "45s"), (0, "0s"), (315_359_700, "3649d23h"), (-7_200, "2h"),
    ] as [(Int64, String)])
    func formatsCompactlyForPeople(seconds: Int64, text: String) {
        #expect(DurationText.format(seconds: seconds) == text)
    }
}
