import Foundation
import Logging
import MeshgateDiscovery
import MeshgateLoop
import MeshgateProxy
import MeshgateTLS
import MeshgateWire
import MeshgateTestKit

#if canImport(Glibc)
import Glibc
#endif

/// A scripted linked gateway for the mirror tests, in-process: a loopback TCP listener whose
/// connections are TLS-accepted with `TLSStream.accept` (as `west`), then read a transport header
/// and either answer a probe (the same header back) or serve a discover stream from a script.
///
/// In `.hung` mode it accepts TCP and never speaks: TLS handshakes to it time out.
final class MirrorTestServer: @unchecked Sendable {
    /// What a discover connection does; it runs on the connection's own thread. When it returns
    /// the stream stays open (with nothing sent) until the mirror ends it or the server stops.
    typealias Script = @Sendable (MirrorDiscoverSession) -> Void

    enum Mode {
        case gateway
        case hung
    }

    /// Where it listens (127.0.0.1, an ephemeral port that stays the same across `reopenListener`).
    let address: SocketAddress
    let mode: Mode
    private let context: TLSContext?
    private let scripts: [Script]

    private let lock = NSLock()
    private var listenFD: Int32
    private var wantListening = true
    private var stopped = false
    private var discoverCount = 0
    private var probeCount = 0
    private var answering = true
    private var clusterNames: [String] = []
    private var sessionList: [MirrorDiscoverSession] = []
    private var openStreams: [ObjectIdentifier: TLSStream] = [:]
    private var heldDescriptors: [Int32] = []
    private let handlers = DispatchGroup()
    private let acceptDone = DispatchSemaphore(value: 0)

    /// A server presenting `west`; discover connection n runs `scripts[n-1]` (none: it just holds).
    init(mode: Mode = .gateway, scripts: [Script] = []) throws {
        self.mode = mode
        self.scripts = scripts
        context = mode == .gateway ? try MirrorTestPKI.westServer() : nil
        let fd = try Socket.listen(on: try SocketAddress.resolve("127.0.0.1:0"), reusePort: false)
        listenFD = fd
        address = try Socket.localAddress(fd)
        let thread = Thread { [self] in
            acceptLoop()
            acceptDone.signal()
        }
        thread.name = "mirror-test-server"
        thread.start()
    }

    deinit { stop() }

    var port: UInt16 { address.port }
    /// Discover connections that got as far as their header.
    var discoverConnections: Int { lock.withLock { discoverCount } }
    /// Probes answered.
    var probesAnswered: Int { lock.withLock { probeCount } }
    /// The cluster named by each discover header, in order.
    var clusters: [String] { lock.withLock { clusterNames } }
    /// Whether probes get an answer (otherwise the connection is closed after the header).
    var answerProbes: Bool {
        get { lock.withLock { answering } }
        set { lock.withLock { answering = newValue } }
    }

    /// Discover session number `n` (1-based), once it has begun.
    func session(_ n: Int) -> MirrorDiscoverSession? {
        lock.withLock { n >= 1 && n <= sessionList.count ? sessionList[n - 1] : nil }
    }

    var isStopped: Bool { lock.withLock { stopped } }

    /// Stops listening: new connections are refused until `reopenListener()`. Open streams stay.
    func closeListener() {
        lock.withLock { wantListening = false }
        let deadline = Date().addingTimeInterval(2)
        while Date() < deadline && lock.withLock({ listenFD >= 0 }) { usleep(5_000) }
    }

    /// Listens again on the same address.
    func reopenListener() throws {
        let fd = try Socket.listen(on: address, reusePort: false)
        lock.withLock {
            listenFD = fd
            wantListening = true
        }
    }

    /// Stops accepting, ends every connection and waits for the connection threads (bounded).
    func stop() {
        let streams: [TLSStream] = lock.withLock {
            if stopped { return [] }
            stopped = true
            return Array(openStreams.values)
        }
        for s in streams { s.interrupt() }
        _ = acceptDone.wait(timeout: .now() + 5)
        acceptDone.signal()  // later calls return at once
        _ = handlers.wait(timeout: .now() + 5)
    }

    private func acceptLoop() {
        while true {
            lock.lock()
            if stopped {
                if listenFD >= 0 { Glibc.close(listenFD) }
                listenFD = -1
                let held = heldDescriptors
                heldDescriptors = []
                lock.unlock()
                for fd in held { Glibc.close(fd) }
                return
            }
            if !wantListening && listenFD >= 0 {
                Glibc.close(listenFD)
                listenFD = -1
            }
            let fd = listenFD
            lock.unlock()
            if fd < 0 {
                usleep(5_000)
                continue
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 20) > 0 else { continue }
            let connection = Glibc.accept(fd, nil, nil)
            guard connection >= 0 else { continue }
            switch mode {
            case .hung:
                lock.withLock { heldDescriptors.append(connection) }
            case .gateway:
                handlers.enter()
                let t = Thread { [self] in
                    serve(connection)
                    handlers.leave()
                }
                t.name = "mirror-test-connection"
                t.start()
            }
        }
    }

    private func serve(_ fd: Int32) {
        guard let context, let stream = try? TLSStream.accept(fd: fd, context: context, deadline: .now + .seconds(3)) else { return }
        let key = ObjectIdentifier(stream)
        let registered: Bool = lock.withLock {
            if stopped { return false }
            openStreams[key] = stream
            return true
        }
        defer {
            lock.withLock { _ = openStreams.removeValue(forKey: key) }
            stream.close()
        }
        guard registered else { return }
        var buffer: [UInt8] = []
        let deadline = ContinuousClock.now + .seconds(3)
        var header: TransportHeader?
        while header == nil {
            guard let bytes = try? stream.read(deadline: deadline), !bytes.isEmpty else { return }
            buffer += bytes
            switch TransportHeader.decode(buffer) {
            case .needMoreBytes: continue
            case .invalid: return
            case .complete(let h, _): header = h
            }
        }
        switch header! {
        case .probe(let nonce):
            guard answerProbes, let answer = try? TransportHeader.probe(nonce: nonce).encoded() else { return }
            guard (try? stream.write(answer, deadline: .now + .seconds(1))) != nil else { return }
            lock.withLock { probeCount += 1 }
            // The prober closes once it has the answer.
            _ = try? stream.read(deadline: .now + .seconds(1))
        case .discover(let cluster, _):
            let (session, script): (MirrorDiscoverSession, Script?) = lock.withLock {
                discoverCount += 1
                clusterNames.append(cluster)
                let s = MirrorDiscoverSession(stream: stream, cluster: cluster, index: discoverCount, server: self)
                sessionList.append(s)
                return (s, discoverCount <= scripts.count ? scripts[discoverCount - 1] : nil)
            }
            script?(session)
            session.holdUntilEnd()
        case .connect, .pooled:
            return
        }
    }
}

/// One discover stream of `MirrorTestServer`, for its script.
final class MirrorDiscoverSession: @unchecked Sendable {
    let stream: TLSStream
    /// The cluster the discover header named.
    let cluster: String
    /// 1-based connection number.
    let index: Int
    private unowned let server: MirrorTestServer
    private let lock = NSLock()
    private var ended = false

    init(stream: TLSStream, cluster: String, index: Int, server: MirrorTestServer) {
        self.stream = stream
        self.cluster = cluster
        self.index = index
        self.server = server
    }

    /// The mirror ended the stream (close, reset or error seen by a read here).
    var peerEnded: Bool { lock.withLock { ended } }

    /// Sends `messages` in one write; false when the stream cannot be written.
    @discardableResult
    func send(_ messages: [DiscoveryMessage]) -> Bool {
        var bytes: [UInt8] = []
        for m in messages { bytes += try! m.encoded() }
        return sendRaw(bytes)
    }

    /// Sends bytes as they are.
    @discardableResult
    func sendRaw(_ bytes: [UInt8]) -> Bool {
        (try? stream.write(bytes, deadline: .now + .seconds(2))) != nil
    }

    /// Waits up to `seconds` for the mirror to end the stream; true once it has.
    @discardableResult
    func waitForPeerEnd(seconds: Double) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while !peerEnded && ContinuousClock.now < deadline && !server.isStopped {
            do {
                let bytes = try stream.read(deadline: min(deadline, .now + .milliseconds(100)))
                if bytes.isEmpty { markEnded() }
            } catch {
                if !error.timedOut { markEnded() }
            }
        }
        return peerEnded
    }

    /// Keeps the stream open until the mirror ends it or the server stops.
    func holdUntilEnd() {
        while !peerEnded && !server.isStopped { waitForPeerEnd(seconds: 0.5) }
    }

    private func markEnded() { lock.withLock { ended = true } }
}

/// Log lines, for asserting what the mirror said.
final class MirrorLogRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    private let echo = ProcessInfo.processInfo.environment["MIRROR_TEST_LOG"] != nil

    func append(_ line: String) {
        if echo { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        lock.withLock { lines.append(line) }
    }

    var all: [String] { lock.withLock { lines } }

    /// Whether a line contains `fragment`.
    func contains(_ fragment: String) -> Bool { all.contains { $0.contains(fragment) } }

    /// A logger writing here (info and up).
    func logger() -> Logger {
        Logger(label: "mirror-test") { _ in MirrorLogHandler(recorder: self) }
    }
}

struct MirrorLogHandler: LogHandler {
    let recorder: MirrorLogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        recorder.append("\(event.level): \(event.message)")
    }
}

/// A one-shot gate a script waits on and a test opens.
final class MirrorGate: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    func open() { semaphore.signal() }
    /// Waits up to `seconds`; whether the gate was opened.
    @discardableResult
    func wait(seconds: Double = 10) -> Bool { semaphore.wait(timeout: .now() + seconds) == .success }
}

