import MeshgateProxy

/// Renders a pre-bucketed `LatencyHistogram` in the Prometheus text format. swift-prometheus's
/// histograms record one observation at a time and cannot take bucket counts that were counted
/// elsewhere (the data plane's loops), so these two families are written here, after the
/// registry's output: `_bucket` lines with cumulative counts and `le` bounds, `+Inf`, `_sum`
/// and `_count`.
enum HistogramText {
    static func render(_ family: MetricFamily, _ histogram: LatencyHistogram, into out: inout [UInt8]) {
        // A histogram with a count per bound plus the +Inf one; anything else is not rendered
        // rather than rendered wrong.
        guard histogram.counts.count == histogram.bounds.count + 1 else { return }
        var text = "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) histogram\n"
        var cumulative: UInt64 = 0
        for (i, bound) in histogram.bounds.enumerated() {
            cumulative &+= histogram.counts[i]
            text += "\(family.name)_bucket{le=\"\(number(bound))\"} \(cumulative)\n"
        }
        cumulative &+= histogram.counts[histogram.bounds.count]
        text += "\(family.name)_bucket{le=\"+Inf\"} \(cumulative)\n"
        text += "\(family.name)_sum \(number(histogram.sum))\n"
        text += "\(family.name)_count \(cumulative)\n"
        out.append(contentsOf: text.utf8)
    }

    /// A float as Prometheus writes one: `1`, `0.25`, `2.5e-05`, `+Inf`, `NaN`.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
