/// An OpenSSL algorithm object fetched once and kept for the life of the process (`EVP_KDF*`,
/// `EVP_CIPHER*`, …): such objects are immutable and reference-counted, so every thread may use
/// one, and keeping it spares each use a lookup in the provider store under its lock.
struct FetchedAlgorithm: @unchecked Sendable {
    /// The fetched object; nil when the provider does not offer the algorithm.
    let pointer: OpaquePointer?
    init(_ pointer: OpaquePointer?) { self.pointer = pointer }
}
