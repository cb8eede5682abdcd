import Foundation
import Testing
@testable import MeshgateCLI
import MeshgateTestKit

/// Bad input to the command line: one clear line naming the flag, exit status 2.
@Suite struct CommandLineTests {
    @Test(arguments: [
        (["proxy", "--listen", "127.0.0.1:99999", "--upstream", "127.0.0.1:1"], "--listen"),
        (["proxy", "--listen", "127.0.0.1:7000"], "--upstream"),
        (["proxy", "--listen", "127.0.0.1:7000", "--upstream", "nonsense"], "--upstream"),
        (["proxy", "--listen", "127.0.0.1:7000", "--upstream", "no-such-host.invalid:80"], "--upstream"),
        (["proxy", "--listen", "127.0.0.1:7000", "--upstream", "127.0.0.1:1", "--io-backend", "kqueue"], "--io-backend"),
        (["proxy", "--listen", "127.0.0.1:7000", "--upstream", "127.0.0.1:1", "--connect-timeout", "soon"], "--connect-timeout"),
        (["proxy", "--listen", "127.0.0.1:7000", "--upstream", "127.0.0.1:1", "--threads", "0"], "--threads"),
        (["proxy", "--listen", "127.0.0.1:7000", "--upstream", "127.0.0.1:1", "--bogus"], "--bogus"),
    ])
    func badFlagsExitTwoNamingTheFlag(arguments: [String], flag: String) throws {
        let p = try MeshgateProcess(arguments)
        let status = p.waitExit(timeout: 10)
        #expect(status == 2)
        let lines = p.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1, "one line, got: \(p.stderr)")
        #expect(p.stderr.contains(flag), "names \(flag): \(p.stderr)")
    }

    @Test(arguments: [["proxy", "--help"], ["help", "proxy"]])
    func helpPrintsTheFlags(arguments: [String]) throws {
        let run = try ChildProcess.run([MeshgateProcess.binary] + arguments, timeout: 60)
        let text = run.stdout
        #expect(run.status == 0)
        #expect(text.contains("--listen") && text.contains("--upstream") && text.contains("--drain-timeout"), "\(text)")
    }

    @Test func environmentChoosesTheBackend() throws {
        let p = try MeshgateProcess(["proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--threads", "1"],
                                    environment: ["MESHGATE_IO_BACKEND": "epoll"])
        _ = try p.waitForListening()
        #expect(p.stderr.contains("io backend epoll"))
        p.signal(SIGTERM)
        #expect(p.waitExit(timeout: 10) == 0)
    }

    @Test func autoLogsWhichBackendRuns() throws {
        let p = try MeshgateProcess(["proxy", "--listen", "[::1]:0", "--upstream", "localhost:1", "--threads", "1", "--io-backend", "auto"])
        waitUntil(timeout: 10) { p.stderr.contains("io backend") }
        #expect(p.stderr.contains("io backend uring (io_uring is available)") || p.stderr.contains("io backend epoll ("))
        #expect(p.stderr.contains("listening on [::1]:"))
        p.signal(SIGINT)
        #expect(p.waitExit(timeout: 10) == 0)
    }

    @Test func listenConflictIsARuntimeError() throws {
        // A plain listener (no SO_REUSEPORT) holds the port: binding it must fail cleanly.
        let blocker = try RawListener()
        let p = try MeshgateProcess(["proxy", "--listen", "127.0.0.1:\(blocker.port)", "--upstream", "127.0.0.1:1"])
        #expect(p.waitExit(timeout: 10) == 1)
        #expect(p.stderr.contains("cannot listen"), "\(p.stderr)")
    }

    @Test(arguments: [("250ms", Duration.milliseconds(250)), ("5s", .seconds(5)), ("1h30m", .seconds(5400)), ("0", .zero)])
    func durationFlagsUseTheOneGrammar(text: String, expected: Duration) throws {
        #expect(try DurationFlag.parse("idle-timeout", text) == expected)
    }

    @Test(arguments: [("5", "--idle-timeout '5' has no unit"), ("soon", "--idle-timeout 'soon' is not a duration"), ("-1s", "is not a duration")])
    func durationFlagsNameTheFlag(text: String, message: String) {
        #expect {
            try DurationFlag.parse("idle-timeout", text)
        } throws: { error in
            "\(error)".contains(message)
        }
        #expect(throws: (any Error).self) { try DurationFlag.parse("timeout", "0", positive: true) }
    }
}
