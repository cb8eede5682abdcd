extension [YAMLValue] {
    /// The values `read` gets from the items, in order, each once: an item `read` refuses (nil,
    /// its error reported) is left out, and so is one whose value an earlier item has (reported
    /// as `<noun> <value> is listed twice`).
    func distinctValues<T: Equatable>(_ noun: String, _ read: (YAMLValue) -> T?) -> [T] {
        var values: [T] = []
        for item in self {
            guard let value = read(item) else { continue }
            if values.contains(value) {
                item.report("\(noun) \(value) is listed twice")
                continue
            }
            values.append(value)
        }
        return values
    }
}
