import CMeshgateShim

/// The process heap (glibc malloc).
public enum Heap {
    /// Returns the free pages of every malloc arena to the system (`malloc_trim(0)`). True when
    /// memory was released.
    @discardableResult
    public static func trim() -> Bool { mg_malloc_trim() == 1 }
}
