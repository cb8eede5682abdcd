import Foundation
import MeshgateLoad
import MeshgateTestKit
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `meshgate proxy --cpu-affinity`: loop threads carry the kernel name `meshgate-loop-<i>`; with
/// `auto` loop i runs only on the i-th CPU the process may use, without it on all of them.
@Suite struct CPUAffinityFlagTests {
    /// An upstream nobody needs: the tests only look at the threads.
    static let upstream = Endpoint(host: "127.0.0.1", port: 1)

    @Test func autoPinsLoopIToTheIthAllowedCPU() throws {
        let (p, _) = try MeshgateProcess.proxy(upstreams: [Self.upstream], backend: "epoll", extra: ["--cpu-affinity", "auto"])
        let allowed = try #require(ProcTasks.allowedCPUs(pid: p.pid, task: p.pid))
        let loops = ProcTasks.loopThreads(pid: p.pid)
        #expect(loops.keys.sorted() == ["meshgate-loop-0", "meshgate-loop-1"], "threads: \(ProcTasks.names(pid: p.pid))")
        if allowed.count >= 2 {
            #expect(loops["meshgate-loop-0"] == [allowed[0]])
            #expect(loops["meshgate-loop-1"] == [allowed[1]])
            #expect(p.stderr.contains("loop 0 pinned to CPU \(allowed[0])") && p.stderr.contains("loop 1 pinned to CPU \(allowed[1])"), "\(p.stderr)")
        } else {
            // One allowed CPU for two loops: nothing is pinned and the log says why.
            #expect(loops.values.allSatisfy { $0 == allowed })
            #expect(p.stderr.contains("loops not pinned"), "\(p.stderr)")
        }
        p.signal(SIGTERM)
        #expect(p.waitExit(timeout: 10) == 0)
    }

    @Test func withoutTheFlagLoopsRunOnEveryAllowedCPU() throws {
        let (p, _) = try MeshgateProcess.proxy(upstreams: [Self.upstream], backend: "epoll")
        let allowed = try #require(ProcTasks.allowedCPUs(pid: p.pid, task: p.pid))
        let loops = ProcTasks.loopThreads(pid: p.pid)
        #expect(loops.keys.sorted() == ["meshgate-loop-0", "meshgate-loop-1"], "threads: \(ProcTasks.names(pid: p.pid))")
        #expect(loops.values.allSatisfy { $0 == allowed }, "\(loops) vs \(allowed)")
        #expect(!p.stderr.contains("pinned"), "\(p.stderr)")
        p.signal(SIGTERM)
        #expect(p.waitExit(timeout: 10) == 0)
    }

    @Test func aBadValueExitsTwoNamingTheFlag() throws {
        let p = try MeshgateProcess(["proxy", "--listen", "127.0.0.1:7000", "--upstream", "127.0.0.1:1", "--cpu-affinity", "on"])
        #expect(p.waitExit(timeout: 10) == 2)
        let lines = p.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1, "one line, got: \(p.stderr)")
        #expect(p.stderr.contains("--cpu-affinity 'on': must be auto or off"), "\(p.stderr)")
    }
}

/// A process's threads as /proc/<pid>/task shows them.
enum ProcTasks {
    /// The kernel name (comm) of every thread.
    static func names(pid: Int32) -> [String] {
        tasks(pid: pid).map(\.name)
    }

    /// The allowed CPUs of each thread whose name starts with `meshgate-loop-`, by name.
    static func loopThreads(pid: Int32) -> [String: [Int]] {
        var loops: [String: [Int]] = [:]
        for t in tasks(pid: pid) where t.name.hasPrefix("meshgate-loop-") {
            loops[t.name] = allowedCPUs(pid: pid, task: t.id)
        }
        return loops
    }

    /// `Cpus_allowed_list` of one thread (/proc/<pid>/task/<tid>/status), expanded.
    static func allowedCPUs(pid: Int32, task: Int32) -> [Int]? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") })
        else { return nil }
        return cpuList(line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces))
    }

    /// Expands a kernel CPU list ("0-2,5") to [0, 1, 2, 5].
    static func cpuList(_ text: String) -> [Int]? {
        var cpus: [Int] = []
        for part in text.split(separator: ",") {
            let bounds = part.split(separator: "-").map { Int($0) }
            guard let low = bounds.first ?? nil, let high = bounds.last ?? nil, bounds.count <= 2, low <= high else { return nil }
            cpus += Array(low...high)
        }
        return cpus
    }

    private static func tasks(pid: Int32) -> [(id: Int32, name: String)] {
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return ids.compactMap { id in
            guard let tid = Int32(id),
                  let comm = try? String(contentsOfFile: "/proc/\(pid)/task/\(id)/comm", encoding: .utf8)
            else { return nil }
            return (tid, comm.trimmingCharacters(in: .newlines))
        }
    }
}
