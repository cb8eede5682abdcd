/// Decoding shared by objects made of `metadata` and a `spec` the server may leave out.
enum KubeObjectWithSpec {
    private enum Keys: String, CodingKey { case metadata, spec }

    /// The object's `metadata` and its `spec`; a missing `spec` decodes as `empty`.
    static func decode<Spec: Decodable>(from decoder: any Decoder, empty: Spec) throws -> (KubeObjectMeta, Spec) {
        let c = try decoder.container(keyedBy: Keys.self)
        return (try c.decode(KubeObjectMeta.self, forKey: .metadata), try c.decodeIfPresent(Spec.self, forKey: .spec) ?? empty)
    }
}
