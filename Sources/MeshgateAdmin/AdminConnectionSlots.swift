import Foundation
import NIOCore

/// The admin endpoint's connection slots (`AdminServer.maxConnections`). A connection is
/// *waiting* from its accept, and again from each answer, until its next request has arrived
/// whole; it is *busy* while that request is answered. When every slot is taken, a new connection
/// takes the slot of the connection that has been waiting longest, which is closed: clients that
/// trickle bytes or send nothing can hold no slot against a probe that sends its request at once
/// (a kubelet's `/ready`), and a client whose request is being answered is never cut off.
final class AdminConnectionSlots: @unchecked Sendable {
    /// What became of a new connection.
    enum Admission {
        /// It has a slot; `evicted`, when set, lost its slot to it and must be closed.
        case admitted(evicted: Channel?)
        /// Every slot is busy: the new connection must be closed.
        case refused
    }

    private struct Entry {
        let channel: Channel
        /// Sequence number of the moment it began waiting (larger: more recent); nil while busy.
        var waitingSince: UInt64?
    }

    let capacity: Int
    // Invariant: `entries` and `clock` are only touched with `lock` held.
    private let lock = NSLock()
    private var entries: [ObjectIdentifier: Entry] = [:]
    private var clock: UInt64 = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Connections holding a slot.
    var count: Int { lock.withLock { entries.count } }

    /// Gives `channel` a slot, taking the longest-waiting connection's when none is free.
    func admit(_ channel: Channel) -> Admission {
        lock.withLock {
            clock += 1
            var evicted: Channel?
            if entries.count >= capacity {
                let oldest = entries.filter { $0.value.waitingSince != nil }.min { $0.value.waitingSince! < $1.value.waitingSince! }
                guard let oldest else { return .refused }
                entries.removeValue(forKey: oldest.key)
                evicted = oldest.value.channel
            }
            entries[ObjectIdentifier(channel)] = Entry(channel: channel, waitingSince: clock)
            return .admitted(evicted: evicted)
        }
    }

    /// `channel`'s request has arrived whole: it is busy (not evictable) until `waiting`.
    func busy(_ channel: Channel) {
        lock.withLock { entries[ObjectIdentifier(channel)]?.waitingSince = nil }
    }

    /// `channel` was answered and waits for its next request.
    func waiting(_ channel: Channel) {
        lock.withLock {
            clock += 1
            entries[ObjectIdentifier(channel)]?.waitingSince = clock
        }
    }

    /// `channel` closed: its slot is free (nothing when it was evicted already).
    func release(_ channel: Channel) {
        _ = lock.withLock { entries.removeValue(forKey: ObjectIdentifier(channel)) }
    }
}
