import LatticeModel
import LatticePolicy

/// The proxy's traffic and identity metrics, with the Linkerd proxy's names and labels so the runbook's queries
/// and existing dashboards keep working (docs/metrics.md lists every series).
final class ProxyMetrics: Sendable {
    let registry = MetricsRegistry()
    let tap = TapHub()
    let tcpOpen: MetricFamily
    let tcpClose: MetricFamily
    let tcpOpenConnections: MetricFamily
    let tcpReadBytes: MetricFamily
    let tcpWriteBytes: MetricFamily
    let tcpAuthzAllow: MetricFamily
    let tcpAuthzDeny: MetricFamily
    let tcpAuthzAudit: MetricFamily
    let certExpiry: MetricCell
    let certRefresh: MetricFamily
    let inboundRefused: MetricFamily
    let outboundFailed: MetricFamily
    let requestTotal: MetricFamily
    let responseTotal: MetricFamily
    let responseLatency: HistogramFamily
    let httpAuthzAllow: MetricFamily
    let httpAuthzDeny: MetricFamily
    let httpAuthzAudit: MetricFamily
    let httpErrors: MetricFamily
    let discoveryConnected: MetricCell
    let discoveryUpdates: MetricFamily
    let discoveryDestinations: MetricCell

    /// The Linkerd proxy's `response_latency_ms` bucket bounds, so existing quantile queries keep their meaning.
    static let latencyBoundsMs: [Int64] = [
        1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000, 20000,
        30000, 40000, 50000,
    ]

    init() {
        let r = self.registry
        self.tcpOpen = r.family("tcp_open_total", help: "Total count of opened connections", kind: .counter)
        self.tcpClose = r.family("tcp_close_total", help: "Total count of closed connections", kind: .counter)
        self.tcpOpenConnections = r.family("tcp_open_connections", help: "Number of currently-open connections", kind: .gauge)
        self.tcpReadBytes = r.family("tcp_read_bytes_total", help: "Total count of bytes read from peers", kind: .counter)
        self.tcpWriteBytes = r.family("tcp_write_bytes_total", help: "Total count of bytes written to peers", kind: .counter)
        self.tcpAuthzAllow = r.family(
            "inbound_tcp_authz_allow_total", help: "Inbound TCP connections allowed by policy", kind: .counter)
        self.tcpAuthzDeny = r.family(
            "inbound_tcp_authz_deny_total", help: "Inbound TCP connections denied by policy", kind: .counter)
        self.tcpAuthzAudit = r.family(
            "lattice_inbound_tcp_audit_would_deny_total",
            help: "Inbound connections allowed under audit that cluster-authenticated would deny", kind: .counter)
        self.certExpiry = r.family(
            "identity_cert_expiration_timestamp_seconds", help: "Expiry of the proxy's certificate (Unix seconds)",
            kind: .gauge
        ).cell([:])
        self.certRefresh = r.family(
            "identity_cert_refresh_total", help: "Certificate refreshes by result", kind: .counter)
        self.inboundRefused = r.family(
            "lattice_inbound_connections_refused_total",
            help: "Inbound connections closed before reaching policy, by reason", kind: .counter)
        self.outboundFailed = r.family(
            "lattice_outbound_connections_failed_total",
            help: "Outbound connections that could not reach their upstream, by reason", kind: .counter)
        self.requestTotal = r.family("request_total", help: "Total count of HTTP requests", kind: .counter)
        self.responseTotal = r.family("response_total", help: "Total count of HTTP responses", kind: .counter)
        self.responseLatency = r.histogram(
            "response_latency_ms", help: "Elapsed times between a request's headers being received and its response stream completing",
            bounds: Self.latencyBoundsMs)
        self.httpAuthzAllow = r.family(
            "inbound_http_authz_allow_total", help: "Inbound HTTP requests allowed by policy", kind: .counter)
        self.httpAuthzDeny = r.family(
            "inbound_http_authz_deny_total", help: "Inbound HTTP requests denied by policy", kind: .counter)
        self.httpAuthzAudit = r.family(
            "lattice_inbound_http_audit_would_deny_total",
            help: "Inbound HTTP requests allowed under audit that cluster-authenticated would deny", kind: .counter)
        self.httpErrors = r.family(
            "lattice_http_errors_total",
            help: "HTTP requests the proxy answered or ended itself, by direction and reason", kind: .counter)
        self.discoveryConnected = r.family(
            "lattice_discovery_connected", help: "1 while the destination and policy streams to the controller are open",
            kind: .gauge
        ).cell([:])
        self.discoveryUpdates = r.family(
            "lattice_discovery_updates_total", help: "Destination and policy answers received, by api", kind: .counter)
        self.discoveryDestinations = r.family(
            "lattice_discovery_destinations",
            help: "Destinations a transparent proxy watches now (dialled recently or in use)", kind: .gauge
        ).cell([:])
        r.family("lattice_build_info", help: "The proxy's version", kind: .gauge)
            .cell(["component": "proxy", "version": LatticeVersion.current]).set(1)
    }

    /// The series one connection reports into, looked up once when it opens.
    func connection(_ labels: ConnectionLabels) -> ConnectionMetrics {
        let base = labels.dictionary
        return ConnectionMetrics(
            open: self.tcpOpen.cell(base),
            close: self.tcpClose.cell(base),
            openNow: self.tcpOpenConnections.cell(base),
            read: self.tcpReadBytes.cell(base),
            write: self.tcpWriteBytes.cell(base)
        )
    }
}

/// Labels of a connection's `tcp_*` series.
struct ConnectionLabels: Sendable {
    enum Direction: String, Sendable {
        case inbound
        case outbound
    }

    var direction: Direction
    /// `true`, `opaque` (another TLS passed through), or `no_identity`.
    var tls: String
    var clientID: String = ""
    var serverID: String = ""
    var noTLSReason: String = ""
    var targetAddress: String

    var dictionary: [String: String] {
        [
            "direction": self.direction.rawValue,
            "peer": self.direction == .inbound ? "src" : "dst",
            "tls": self.tls,
            "client_id": self.clientID,
            "server_id": self.serverID,
            "no_tls_reason": self.noTLSReason,
            "target_addr": self.targetAddress,
        ]
    }
}

/// One connection's handles into the `tcp_*` series: atomics only.
struct ConnectionMetrics: Sendable {
    let open: MetricCell
    let close: MetricCell
    let openNow: MetricCell
    let read: MetricCell
    let write: MetricCell

    func opened() {
        self.open.add(1)
        self.openNow.add(1)
    }

    func closed() {
        self.close.add(1)
        self.openNow.add(-1)
    }
}
