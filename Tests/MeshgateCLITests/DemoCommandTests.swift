import Foundation
import Testing
import MeshgateTestKit
#if canImport(Glibc)
import Glibc
#endif

/// `meshgate demo --exit` end to end: the real binary runs the whole demo (identities, three
/// gateways, backends, links, traffic, north stopped and restarted) and must exit 0, say what
/// the brief says it shows, and leave no process and (without --keep) no folder behind. Under
/// the serialized `TLSEndToEnd` umbrella so it never competes with the other process-based
/// suites for the cores.
extension TLSEndToEnd {
    @Suite struct DemoCommandTests {
        struct Run {
            var status: Int32
            var stdout: String
            var stderr: String
            var seconds: Double
            /// From the `folder: PATH (…)` line.
            var folder: String?

            var text: String { "exit \(status) after \(String(format: "%.1f", seconds)) s\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }

            func lines(containing s: String) -> [Substring] { stdout.split(separator: "\n").filter { $0.contains(s) } }
        }

        /// Runs `meshgate demo --exit EXTRA` to the end (≤ 90 s; on a timeout it is sent SIGTERM,
        /// then SIGKILL, and whatever it left running is killed).
        static func demo(_ extra: [String] = []) throws -> Run {
            let start = Date()
            let p = try ChildProcess([MeshgateProcess.binary, "demo", "--exit"] + extra)
            p.closeStdin()
            let status = p.waitExit(timeout: 90)
            var run = Run(
                status: status ?? -1, stdout: String(decoding: p.stdoutData, as: UTF8.self), stderr: p.stderrText,
                seconds: Date().timeIntervalSince(start))
            run.folder = folder(in: run.stdout)
            if status == nil {
                kill(p.pid, SIGTERM)
                if p.waitExit(timeout: 15) == nil { p.kill() }
                if let f = run.folder {
                    for pid in leftovers(f) { kill(pid, SIGKILL) }
                    try? FileManager.default.removeItem(atPath: f)
                }
                run.stdout = String(decoding: p.stdoutData, as: UTF8.self)
                throw TestFailure("meshgate demo --exit did not finish within 90 s:\n\(run.text)")
            }
            return run
        }

        static func folder(in stdout: String) -> String? {
            guard let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix("folder: ") }) else { return nil }
            return String(line.dropFirst("folder: ".count).prefix { $0 != " " })
        }

        /// Processes whose command line mentions `folder` (the demo's gateways and redis-server
        /// all take a path inside it).
        static func leftovers(_ folder: String) -> [pid_t] {
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
            var found: [pid_t] = []
            for e in entries {
                guard let pid = pid_t(e), pid != getpid(),
                    let data = FileManager.default.contents(atPath: "/proc/\(e)/cmdline"), !data.isEmpty
                else { continue }
                let cmdline = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
                if cmdline.contains(folder) { found.append(pid) }
            }
            return found
        }

        /// The demo's port block from `ports 127.0.0.1:A-B are free again`: every port in it
        /// (gateways' inbound, admin and route ports, redis) must refuse connections now.
        static func portsStillAnswering(_ run: Run) -> [UInt16]? {
            guard let line = run.lines(containing: "are free again").first, let r = line.range(of: "127.0.0.1:") else { return nil }
            let bounds = line[r.upperBound...].prefix { $0.isNumber || $0 == "-" }.split(separator: "-").compactMap { UInt16($0) }
            guard bounds.count == 2, bounds[0] <= bounds[1] else { return nil }
            return (bounds[0]...bounds[1]).filter { LoopbackPorts.connectErrno($0) != ECONNREFUSED }
        }

        /// The milliseconds in `… after 0.31 ms` / `… after 12 ms` at the end of a line.
        static func millis(_ line: Substring) -> Double? {
            guard let r = line.range(of: " after ", options: .backwards) else { return nil }
            let rest = line[r.upperBound...]
            guard rest.hasSuffix(" ms") else { return nil }
            return Double(rest.dropLast(3))
        }

        @Test("meshgate demo --exit: three clusters, mirrored routes of west and north, north fails fast and recovers, east → west unaffected, nothing left behind")
        func demoRunsAndCleansUp() throws {
            let run = try Self.demo()
            #expect(run.status == 0, "\(run.text)")
            #expect(run.seconds < 90, "\(run.text)")
            let folder = try #require(run.folder, "the demo prints `folder: PATH`:\n\(run.text)")
            #expect(folder.contains("meshgate-demo-"), "\(folder)")

            // Identities and gateways.
            for c in ["east", "west", "north"] {
                #expect(!run.lines(containing: "spiffe://cluster.local/ns/meshgate-\(c)/sa/gateway").isEmpty, "\(c)'s identity:\n\(run.text)")
            }
            // The mirrored routes: name → listen address → cluster.
            let hasRedis = run.lines(containing: "redis-server is not on PATH: skipped").isEmpty
            var routes = [("default/web-west:80", "west", "default/web:80"), ("default/web-north:80", "north", "default/web:80")]
            if hasRedis { routes.append(("default/redis-west:6379", "west", "default/redis:6379")) }
            for (key, cluster, target) in routes {
                let row = run.lines(containing: key).first { $0.contains("127.0.0.1:") && $0.contains(" \(cluster) ") && $0.contains(target) }
                #expect(row != nil, "the route table names \(key) → 127.0.0.1:… → \(cluster):\n\(run.text)")
            }
            #expect(!run.lines(containing: "not mirrored: west's default/internal").isEmpty, "\(run.text)")
            // Traffic through both routes.
            #expect(run.lines(containing: "(web-west) → 200 \"hello from west").count == 1, "\(run.text)")
            #expect(run.lines(containing: "(web-north) → 200 \"hello from north").count == 1, "\(run.text)")
            #expect(!run.lines(containing: "50 more GETs to web-west: 50/50 answered").isEmpty, "\(run.text)")
            #expect(!run.lines(containing: "50 more GETs to web-north: 50/50 answered").isEmpty, "\(run.text)")
            if hasRedis { #expect(!run.lines(containing: "PING → PONG").isEmpty, "\(run.text)") }
            #expect(!run.lines(containing: "north proved spiffe://cluster.local/ns/meshgate-north/sa/gateway").isEmpty, "\(run.text)")

            // North fails fast.
            #expect(!run.lines(containing: "east: link north down").isEmpty, "\(run.text)")
            let refusals = run.lines(containing: "(web-north) #")
            #expect(!refusals.isEmpty, "\(run.text)")
            for line in refusals {
                let ms = Self.millis(line)
                #expect(ms != nil && ms! < 1000, "a refused connection to web-north ends within 1 s: \(line)")
                #expect(line.contains("reset") || line.contains("closed"), "\(line)")
            }
            let counterLine = try #require(run.lines(containing: "gateway_refused_link_down: ").first, "\(run.text)")
            let counts = counterLine.split(separator: ":").dropFirst().first.map { $0.split(separator: " ").compactMap { Int($0) } } ?? []
            #expect(counts.count == 2 && counts[1] > counts[0], "link_down counted: \(counterLine)")
            // …and recovers.
            #expect(!run.lines(containing: "east: link north up again").isEmpty, "\(run.text)")
            #expect(run.lines(containing: "(web-north) → HTTP 200 \"hello from north").count == 1, "\(run.text)")
            // East → west unaffected.
            let steady = try #require(run.lines(containing: "east → west throughout: ").first, "\(run.text)")
            #expect(steady.contains("all answered, 0 failed"), "\(steady)")
            let answered = steady.split(separator: ":").dropFirst().first?.split(separator: " ").first.flatMap { Int($0) } ?? 0
            #expect(answered >= 10, "\(steady)")

            // Nothing left behind.
            #expect(!run.lines(containing: "deleted \(folder)").isEmpty, "\(run.text)")
            #expect(!FileManager.default.fileExists(atPath: folder), "the demo's folder \(folder) is gone")
            #expect(Self.leftovers(folder).isEmpty, "no process of the demo is left: \(Self.leftovers(folder))")
            let answering = Self.portsStillAnswering(run)
            #expect(answering == [], "every port of the demo is closed (nil: no `are free again` line): \(String(describing: answering))\n\(run.text)")
            #expect(run.stderr.isEmpty, "nothing on standard error:\n\(run.stderr)")
        }

        @Test("meshgate demo --exit --keep: leaves the folder with the configs, bundles and logs, and no process")
        func keepLeavesTheFolder() throws {
            let run = try Self.demo(["--keep"])
            let folder = try #require(run.folder, "the demo prints `folder: PATH`:\n\(run.text)")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            #expect(run.status == 0, "\(run.text)")
            #expect(!run.lines(containing: "kept \(folder) (--keep)").isEmpty, "\(run.text)")
            for file in [
                "anchor/anchor.crt", "east/gateway.yaml", "east/gateway.log", "east/links/west.link.yaml", "east/links/north.link.yaml",
                "west/registry.yaml", "north/identity/tls.crt", "bundles/north.link.yaml",
            ] {
                #expect(FileManager.default.fileExists(atPath: "\(folder)/\(file)"), "\(file) is kept")
            }
            let eastLog = (try? String(contentsOfFile: "\(folder)/east/gateway.log", encoding: .utf8)) ?? ""
            #expect(eastLog.contains("link west: route default/web-west:80 on 127.0.0.1:"), "east's log is kept:\n\(eastLog.suffix(2000))")
            #expect(Self.leftovers(folder).isEmpty, "no process of the demo is left: \(Self.leftovers(folder))")
            #expect(Self.portsStillAnswering(run) == [], "every port of the demo is closed")
        }
    }
}
