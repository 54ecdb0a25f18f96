import Synchronization

/// One histogram series: observation counts per bucket, their count and sum. One uncontended lock per
/// observation (per response, never per byte).
final class HistogramCell: Sendable {
    private struct State {
        var buckets: [Int64]
        var count: Int64 = 0
        var sumMicros: Int64 = 0
    }

    let bounds: [Int64]
    private let state: Mutex<State>

    init(bounds: [Int64]) {
        self.bounds = bounds
        self.state = Mutex(State(buckets: [Int64](repeating: 0, count: bounds.count + 1)))
    }

    /// Records one observation of `micros` microseconds against bounds in milliseconds.
    func observe(micros: Int64) {
        var index = self.bounds.count
        for (i, bound) in self.bounds.enumerated() where micros <= bound * 1000 {
            index = i
            break
        }
        self.state.withLock { state in
            state.buckets[index] += 1
            state.count += 1
            state.sumMicros += micros
        }
    }

    var snapshot: (buckets: [Int64], count: Int64, sumMicros: Int64) {
        self.state.withLock { ($0.buckets, $0.count, $0.sumMicros) }
    }
}

/// A histogram metric with its series keyed by label values, rendered with cumulative `le` buckets, `_sum` and
/// `_count` as Prometheus expects. Bounds are in the metric's unit (milliseconds for `response_latency_ms`).
final class HistogramFamily: RenderedFamily {
    let name: String
    let help: String
    let bounds: [Int64]
    private let series = LabeledSeries<HistogramCell>()

    init(name: String, help: String, bounds: [Int64]) {
        self.name = name
        self.help = help
        self.bounds = bounds
    }

    func cell(_ labels: [String: String]) -> HistogramCell {
        self.series.cell(labels) { HistogramCell(bounds: self.bounds) }
    }

    func render(into out: inout String) {
        let snapshot = self.series.snapshot { $0.snapshot }
        guard !snapshot.isEmpty else { return }
        out += "# HELP \(self.name) \(self.help)\n# TYPE \(self.name) histogram\n"
        for (labels, values) in snapshot.sorted(by: { MetricFamily.key($0.0) < MetricFamily.key($1.0) }) {
            let key = MetricFamily.key(labels)
            let prefix = key.isEmpty ? "" : key + ","
            var cumulative: Int64 = 0
            for (i, bound) in self.bounds.enumerated() {
                cumulative += values.buckets[i]
                out += "\(self.name)_bucket{\(prefix)le=\"\(bound)\"} \(cumulative)\n"
            }
            cumulative += values.buckets[self.bounds.count]
            out += "\(self.name)_bucket{\(prefix)le=\"+Inf\"} \(cumulative)\n"
            let braces = key.isEmpty ? "" : "{\(key)}"
            let whole = values.sumMicros / 1000
            let fraction = values.sumMicros % 1000
            let fractionText = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
            out += "\(self.name)_sum\(braces) \(whole).\(fractionText)\n"
            out += "\(self.name)_count\(braces) \(values.count)\n"
        }
    }
}
