/// A loop's connections in one contiguous block, with a free list and a generation per slot
/// so that a completion for a reused slot is recognised as stale. Pages are touched only as
/// the high-water mark grows. Loop-confined.
final class ConnectionSlab {
    private let base: UnsafeMutablePointer<Connection>
    let capacity: Int
    /// Slots ever initialised; everything below is valid memory.
    private(set) var highWater = 0
    private var freeHead: Int32 = -1
    /// Slots in use.
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    deinit {
        base.deinitialize(count: highWater)
        base.deallocate()
    }

    /// A free slot's index, or nil when full. The slot's generation is already bumped and its
    /// phase is `accepted`.
    @inline(__always)
    func allocate() -> UInt32? {
        let index: Int
        if freeHead >= 0 {
            index = Int(freeHead)
            freeHead = base[index].nextFree
        } else if highWater < capacity {
            index = highWater
            (base + index).initialize(to: Connection())
            highWater += 1
        } else {
            return nil
        }
        base[index].phase = .accepted
        count += 1
        return UInt32(index)
    }

    /// Returns a slot; its generation changes so outstanding tokens become stale.
    @inline(__always)
    func free(_ index: UInt32) {
        let gen = (base[Int(index)].generation &+ 1) & 0xFF_FFFF
        base[Int(index)] = Connection()
        base[Int(index)].generation = gen
        base[Int(index)].nextFree = freeHead
        freeHead = Int32(index)
        count -= 1
    }

    /// The slot's storage.
    @inline(__always)
    subscript(_ index: UInt32) -> UnsafeMutablePointer<Connection> { base + Int(index) }

    /// The slot for `token`, or nil when the token is stale or out of range.
    @inline(__always)
    func live(_ slot: UInt32, generation: UInt32) -> UnsafeMutablePointer<Connection>? {
        guard Int(slot) < highWater else { return nil }
        let c = base + Int(slot)
        guard c.pointee.generation == generation else { return nil }
        if case .free = c.pointee.phase { return nil }
        return c
    }
}

@available(*, unavailable)
extension ConnectionSlab: Sendable {}
