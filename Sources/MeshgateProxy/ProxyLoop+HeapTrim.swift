import MeshgateLoop

/// Giving the memory of a handshake burst back to the system.
///
/// A TLS handshake in OpenSSL holds tens of KiB (the `SSL` object, its buffers, the peer's
/// parsed certificates) until the connection hands over to the kernel or the record layer. A
/// burst of thousands of concurrent handshakes therefore grows the loops' malloc arenas by
/// hundreds of MiB, and glibc keeps freed memory in its arenas: measured with
/// `scripts/bench-scale`, the RSS per held connection was 2 KiB after a burst of 200 and
/// 17–20 KiB after one of 5,000, with the same 9,000 connections held. So once a loop has no
/// handshake in progress after a burst, it asks glibc to return free pages (`malloc_trim`, which
/// also releases whole free pages inside an arena).
extension ProxyLoop {
    /// At the sweep (once a second): trims when this loop has no handshake in progress and has
    /// done at least `K.handshakesPerHeapTrim` since the last trim.
    func trimHeapAfterHandshakes() {
        let done = counters.value(.tlsHandshakesDownstream) &+ counters.value(.tlsHandshakesUpstream)
            &+ counters.value(.tlsRefusedDownstream) &+ counters.value(.tlsRefusedUpstream)
        guard done &- handshakesAtLastTrim >= K.handshakesPerHeapTrim, counters.value(.tlsHandshakesActive) == 0 else { return }
        handshakesAtLastTrim = done
        Heap.trim()
    }
}
