import Metrics
import Synchronization

/// The discovery services' metrics.
///
/// - `lattice_discovery_streams{api}`: destination and policy streams open now (one per proxy and target).
/// - `lattice_discovery_updates_total{api}`: answers sent on those streams.
/// - `lattice_discovery_snapshots_total`: new mesh snapshots published by the backend.
/// - `lattice_registry_reloads_total{result}`: local registry reads: `ok`, `invalid` (the last good one stays), `unreadable`.
public struct DiscoveryMetrics: Sendable {
    public let destinationStreams: Gauge
    public let policyStreams: Gauge
    public let destinationUpdates: Counter
    public let policyUpdates: Counter
    public let snapshots: Counter
    public let registryOK: Counter
    public let registryInvalid: Counter
    public let registryUnreadable: Counter

    public init(factory: any MetricsFactory) {
        self.destinationStreams = Gauge(label: "lattice_discovery_streams", dimensions: [("api", "destination")], factory: factory)
        self.policyStreams = Gauge(label: "lattice_discovery_streams", dimensions: [("api", "policy")], factory: factory)
        self.destinationUpdates = Counter(label: "lattice_discovery_updates_total", dimensions: [("api", "destination")], factory: factory)
        self.policyUpdates = Counter(label: "lattice_discovery_updates_total", dimensions: [("api", "policy")], factory: factory)
        self.snapshots = Counter(label: "lattice_discovery_snapshots_total", factory: factory)
        self.registryOK = Counter(label: "lattice_registry_reloads_total", dimensions: [("result", "ok")], factory: factory)
        self.registryInvalid = Counter(label: "lattice_registry_reloads_total", dimensions: [("result", "invalid")], factory: factory)
        self.registryUnreadable = Counter(label: "lattice_registry_reloads_total", dimensions: [("result", "unreadable")], factory: factory)
    }
}

/// Counts open streams without a lock: a gauge fed from an atomic.

final class StreamCounter: Sendable {
    private let count = Atomic<Int>(0)
    private let gauge: Gauge
    init(gauge: Gauge) { self.gauge = gauge }
    func opened() { self.gauge.record(self.count.add(1, ordering: .relaxed).newValue) }
    func closed() { self.gauge.record(self.count.subtract(1, ordering: .relaxed).newValue) }
    var value: Int { self.count.load(ordering: .relaxed) }
}
