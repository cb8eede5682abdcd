import Foundation
import Testing

@testable import MeshgateTLS

extension BackToBack {
    /// A full handshake whose tickets the client has read (they arrive after its Finished),
    /// closed with close_notify both ways: the client's cache then holds the server's tickets.
    static func primeCache(client: TLSContext, server: TLSContext, key: String? = nil) throws {
        let (c, s) = try connect(client: client, server: server, sessionCacheKey: key)
        #expect(s.handshake() == .complete)
        #expect(readAll(c).end == .needMoreInput)
        #expect(c.shutdown() == .closeNotifySent)
        transfer(c, to: s)
        #expect(readAll(s).end == .closeNotify)
        #expect(s.shutdown() == .complete)
    }
}

/// A monotonic clock the test moves by hand, for generated ticket key rings.
final class ManualClock: @unchecked Sendable {
    // Invariant: `now` is only touched while holding `lock`.
    private let lock = NSLock()
    private var now: Duration = .zero

    /// Moves the clock forward.
    func advance(by duration: Duration) { lock.withLock { now += duration } }

    /// The reading function a ring takes.
    var read: @Sendable () -> Duration { { [self] in lock.withLock { now } } }
}

extension TestPKI {
    /// A key file of `keys` (the first encrypts) in the test directory, with a comment line;
    /// returns its path.
    func writeTicketKeyFile(_ keys: [TLSTicketKey], name: String = "ticket-keys-\(UUID().uuidString)") throws -> String {
        let lines = ["# session ticket keys, newest first"] + keys.map(TLSTicketKeys.keyFileLine)
        let file = path(name)
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

/// A client context resuming from a fresh session cache, and a server context to resume against.
struct ResumptionBed {
    let cache = TLSSessionCache()
    let client: TLSContext
    let server: TLSContext

    /// The server issues `ticketCount` tickets per handshake; `adjust` sets the rest of its
    /// configuration (ticket keys, policy).
    init(_ pki: TestPKI, ticketCount: Int = 2, server adjust: (inout TLSConfiguration) -> Void = { _ in }) throws {
        let cache = self.cache
        client = try pki.clientContext { $0.sessionCache = cache }
        server = try pki.serverContext {
            $0.ticketCount = ticketCount
            adjust(&$0)
        }
    }

    /// A full handshake against `server` (default: the bed's) whose tickets the cache keeps.
    func prime(against server: TLSContext? = nil, key: String? = nil) throws {
        try BackToBack.primeCache(client: client, server: server ?? self.server, key: key)
    }

    /// A client connection from the cache against `server` (default: the bed's), handshake pumped.
    func connect(to server: TLSContext? = nil) throws -> (client: TLSConnection, server: TLSConnection) {
        try BackToBack.connect(client: client, server: server ?? self.server)
    }
}
