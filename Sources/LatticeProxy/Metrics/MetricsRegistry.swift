import Synchronization

/// A lock-free counter or gauge value, shared by the connections that report into it.
final class MetricCell: Sendable {
    private let value = Atomic<Int64>(0)

    func add(_ delta: Int64) { self.value.wrappingAdd(delta, ordering: .relaxed) }
    func set(_ newValue: Int64) { self.value.store(newValue, ordering: .relaxed) }
    var current: Int64 { self.value.load(ordering: .relaxed) }
}

/// A metric's series keyed by label values: found or made under a lock, which callers take once per connection
/// (or per response), never per byte.
final class LabeledSeries<Cell: Sendable>: Sendable {
    private let series = Mutex<[[String: String]: Cell]>([:])

    func cell(_ labels: [String: String], make: () -> Cell) -> Cell {
        self.series.withLock { series in
            if let cell = series[labels] { return cell }
            let cell = make()
            series[labels] = cell
            return cell
        }
    }

    /// Every series' labels with a value read from its cell.
    func snapshot<Value: Sendable>(_ read: (Cell) -> Value) -> [([String: String], Value)] {
        self.series.withLock { $0.map { ($0.key, read($0.value)) } }
    }
}

/// One metric name with its series, keyed by label values.
///
/// Looking a series up takes a lock, so a connection does it once when it opens (see ``ConnectionMetrics``) and
/// then only touches atomics; nothing is locked or allocated per read.
final class MetricFamily: Sendable {
    enum Kind: String, Sendable {
        case counter
        case gauge
    }

    let name: String
    let help: String
    let kind: Kind
    private let series = LabeledSeries<MetricCell>()

    init(name: String, help: String, kind: Kind) {
        self.name = name
        self.help = help
        self.kind = kind
    }

    func cell(_ labels: [String: String]) -> MetricCell {
        self.series.cell(labels) { MetricCell() }
    }

    func render(into out: inout String) {
        let snapshot = self.series.snapshot { $0.current }
        guard !snapshot.isEmpty else { return }
        out += "# HELP \(self.name) \(self.help)\n# TYPE \(self.name) \(self.kind.rawValue)\n"
        for (labels, value) in snapshot.sorted(by: { Self.key($0.0) < Self.key($1.0) }) {
            out += self.name
            if !labels.isEmpty { out += "{" + Self.key(labels) + "}" }
            out += " \(value)\n"
        }
    }

    /// Labels in the exposition format, sorted by name; empty values are left out (Prometheus treats a missing
    /// label and an empty one alike, and Linkerd's series carry different label sets).
    static func key(_ labels: [String: String]) -> String {
        labels.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\"\(Self.escape($0.value))\"" }.joined(separator: ",")
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}

/// Something `/metrics` renders: a family of counters or gauges, or of histograms.
protocol RenderedFamily: Sendable {
    func render(into out: inout String)
}

extension MetricFamily: RenderedFamily {}

/// All of the proxy's metrics, rendered as Prometheus text for `/metrics`.
final class MetricsRegistry: Sendable {
    private let families = Mutex<[any RenderedFamily]>([])

    func family(_ name: String, help: String, kind: MetricFamily.Kind) -> MetricFamily {
        let family = MetricFamily(name: name, help: help, kind: kind)
        self.families.withLock { $0.append(family) }
        return family
    }

    func histogram(_ name: String, help: String, bounds: [Int64]) -> HistogramFamily {
        let family = HistogramFamily(name: name, help: help, bounds: bounds)
        self.families.withLock { $0.append(family) }
        return family
    }

    func render() -> String {
        var out = ""
        out.reserveCapacity(8192)
        for family in self.families.withLock({ $0 }) { family.render(into: &out) }
        return out
    }
}
