import NIOCore
import NIOHTTP1
import Synchronization

/// The request and response series of one route (one set of connection labels: direction, tls, identities, target,
/// authority), looked up once per connection; responses add their status to the labels.
final class HTTPRouteMetrics: Sendable {
    /// What a response is keyed by: its HTTP status, its gRPC status when it has one, and whether the proxy made it.
    struct ResponseKey: Hashable, Sendable {
        var statusCode: Int
        var grpcStatus: Int?
        var error: String?

        /// Linkerd's classification: a gRPC response succeeds with grpc-status 0; an HTTP one with a status below 500
        /// (a policy's 403 is a success of the server, as in Linkerd; an unreachable upstream's 502 is not).
        var isSuccess: Bool {
            if let grpc = self.grpcStatus { return grpc == 0 }
            return self.statusCode < 500
        }
    }

    struct ResponseCells: Sendable {
        let total: MetricCell
        let latency: HistogramCell
    }

    let requests: MetricCell

    /// Status codes come from the upstream: anything outside 100…599 is one label value (0), so a peer can't grow
    /// the series without bound.
    static func boundedStatus(_ code: Int) -> Int { (100...599).contains(code) ? code : 0 }

    /// gRPC defines 0…16; anything else is counted as UNKNOWN (2).
    static func boundedGRPCStatus(_ code: Int) -> Int { (0...16).contains(code) ? code : 2 }
    private let labels: [String: String]
    private let families: ProxyMetrics
    private let responses = Mutex<[ResponseKey: ResponseCells]>([:])

    init(labels: ConnectionLabels, authority: String, metrics: ProxyMetrics) {
        var labels = labels.dictionary
        labels["peer"] = nil
        labels["authority"] = authority
        self.labels = labels
        self.families = metrics
        self.requests = metrics.requestTotal.cell(labels)
    }

    /// Counts a finished response and its latency (request headers in to response stream done).
    func responded(_ key: ResponseKey, micros: Int64, request: HTTPRequestHead?) {
        let tap = self.families.tap
        if tap.isActive {
            tap.record(
                labels: self.labels, head: request, statusCode: key.statusCode, grpcStatus: key.grpcStatus,
                error: key.error, latencyMicros: micros
            )
        }
        let cells = self.responses.withLock { cache in
            if let cells = cache[key] { return cells }
            var labels = self.labels
            labels["status_code"] = "\(key.statusCode)"
            var latencyLabels = labels
            latencyLabels["classification"] = nil
            labels["classification"] = key.isSuccess ? "success" : "failure"
            if let grpc = key.grpcStatus { labels["grpc_status"] = "\(grpc)" }
            if let error = key.error { labels["error"] = error }
            let cells = ResponseCells(
                total: self.families.responseTotal.cell(labels),
                latency: self.families.responseLatency.cell(latencyLabels)
            )
            cache[key] = cells
            return cells
        }
        cells.total.add(1)
        cells.latency.observe(micros: micros)
    }
}
