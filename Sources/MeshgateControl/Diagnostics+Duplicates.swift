extension Diagnostics {
    /// Reports every item whose `namespace/name` an earlier item has, at the item's line and
    /// field `<list>[index]`: `duplicate <noun> <namespace/name> (first defined at line N)`.
    func reportDuplicateNames<Item>(
        _ items: [Item], noun: String, list: String, namespace: (Item) -> String, name: (Item) -> String, line: (Item) -> Int
    ) {
        var first: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let key = "\(namespace(item))/\(name(item))"
            if let earlier = first[key] {
                report(line: line(item), field: "\(list)[\(index)]", "duplicate \(noun) \(key) (first defined at line \(earlier))")
            } else {
                first[key] = line(item)
            }
        }
    }
}
