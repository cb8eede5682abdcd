import Foundation
import MeshgateTestKit
import Testing

@testable import MeshgateDemo

/// The demo's web backend answering real requests from the demo's HTTP client, and the client's
/// account of connections that end without an answer.
@Suite struct DemoHTTPTests {
    @Test("the web backend answers each GET with its cluster, port and request number")
    func backendAnswers() throws {
        let backend = try DemoWebBackend(cluster: "west")
        defer { backend.stop() }
        for number in 1...2 {
            let outcome = DemoHTTP.get(backend.port, host: "web-west")
            guard case .answered(let status, let body, let sent, let received, let seconds) = outcome else {
                Issue.record("GET #\(number): \(outcome)")
                return
            }
            #expect(status == 200)
            #expect(body == "hello from west (default/web, backend 127.0.0.1:\(backend.port), request #\(number))\n")
            #expect(sent == "GET / HTTP/1.1\r\nHost: web-west\r\nUser-Agent: meshgate-demo\r\nConnection: close\r\n\r\n".utf8.count)
            #expect(received > body.utf8.count)
            #expect(seconds >= 0 && seconds < 5)
            #expect(outcome.ok)
        }
        #expect(backend.requests == 2)
    }

    @Test("a stopped backend refuses connections")
    func stoppedBackendRefuses() throws {
        let backend = try DemoWebBackend(cluster: "north")
        backend.stop()
        backend.stop()  // a second stop does nothing
        let outcome = DemoHTTP.get(backend.port, host: "web-north", timeout: 1)
        guard case .failed(let reason, _) = outcome else {
            Issue.record("answered after stop: \(outcome)")
            return
        }
        #expect(reason == "connection refused")
        #expect(!outcome.ok)
    }

    @Test("a connection closed without an answer, and bytes that are not HTTP, are failures saying so")
    func failuresSayWhy() throws {
        let silent = try ScriptedServer(turns: [[]])
        #expect("\(DemoHTTP.get(silent.port, host: "x", timeout: 2))".contains("closed, no answer"))
        let garbage = try ScriptedServer(turns: [["not http"]])
        #expect("\(DemoHTTP.get(garbage.port, host: "x", timeout: 2))".contains("not an HTTP answer (8 bytes)"))
        let teapot = try ScriptedServer(turns: [["HTTP/1.1 418 I'm a teapot\r\n\r\nshort and stout"]])
        let outcome = DemoHTTP.get(teapot.port, host: "x", timeout: 2)
        guard case .answered(418, "short and stout", _, _, _) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(!outcome.ok)
    }

    @Test("steady traffic counts every answered GET until stopped, and nothing after")
    func steadyTraffic() throws {
        let backend = try DemoWebBackend(cluster: "west")
        defer { backend.stop() }
        let traffic = DemoSteadyTraffic(port: backend.port, host: "web-west", interval: 0.01)
        #expect(waitUntil(timeout: 10) { traffic.counts.ok >= 5 }, "\(traffic.counts)")
        let result = traffic.stop()
        #expect(result.failures.isEmpty, "\(result.failures)")
        #expect(result.latencies.count >= 5)
        #expect(backend.requests == result.latencies.count)
        #expect(traffic.stop().latencies.count == result.latencies.count, "no GET after the stop")
    }
}
