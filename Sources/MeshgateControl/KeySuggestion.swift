/// Suggests the known key an unknown one was probably meant to be (`lisen` → `listen`).
enum KeySuggestion {
    /// The closest of `known`, when close enough: the same ignoring case, a known key it begins
    /// (`target` → `targetPort`), or at most two edits away (one for keys of up to four characters).
    static func closest(to key: String, in known: [String]) -> String? {
        let lowered = key.lowercased()
        if let sameCase = known.first(where: { $0.lowercased() == lowered }) { return sameCase }
        if lowered.count >= 4, let longer = known.first(where: { $0.lowercased().hasPrefix(lowered) }) { return longer }
        let limit = key.count <= 4 ? 1 : 2
        var best: (key: String, distance: Int)?
        for candidate in known {
            let distance = editDistance(lowered, candidate.lowercased())
            if distance <= limit, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.key
    }

    /// Edit distance counting insertions, deletions, substitutions and swaps of neighbours
    /// (optimal string alignment), in characters: `nmae` is one edit from `name`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
