import ArgumentParser
import MeshgateLoad

#if canImport(Glibc)
import Glibc
#endif

/// `meshgate-bench backend`: runs a `BackendServer` until SIGTERM or SIGINT.
struct BackendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backend",
        abstract: "Run a test backend until SIGTERM/SIGINT; prints `listening HOST:PORT` once bound.")

    @Option(name: .long, help: "Address to listen on; port 0 picks a free port.")
    var listen: String = "127.0.0.1:0"

    @Option(name: .long, help: "echo, sink, source, pingpong, hold, drain:N or reset:N.")
    var behavior: String = "echo"

    @Option(name: .long, help: "Engine threads.")
    var threads: Int = 1

    func run() throws {
        let endpoint: Endpoint
        do { endpoint = try Endpoint.parse(listen) } catch { throw ValidationError("--listen: \(error)") }
        guard let b = BackendServer.Behavior.parse(behavior) else {
            throw ValidationError("--behavior '\(behavior)': must be echo, sink, source, pingpong, hold, drain:N or reset:N")
        }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be from 1 to 64") }
        ProcessResources.raiseFileLimit()

        // Block the stop signals before the engine threads start, so only sigwait below sees them.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let server: BackendServer
        do { server = try BackendServer(host: endpoint.host, port: endpoint.port, behavior: b, threads: threads) } catch {
            FileHandleOutput.standardError("meshgate-bench backend: \(error)")
            throw ExitCode(1)
        }
        print("listening \(server.endpoint)")
        fflush(stdout)
        var received: Int32 = 0
        sigwait(&signals, &received)
        server.stop()
        let s = server.stats
        FileHandleOutput.standardError("meshgate-bench backend: stopped; accepted=\(s.accepted) in=\(s.bytesIn) out=\(s.bytesOut) resets=\(s.resets)")
    }
}
