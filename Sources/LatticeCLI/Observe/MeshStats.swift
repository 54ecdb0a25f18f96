import Foundation

/// One sample of a Prometheus text exposition.
struct MetricSample: Sendable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// Reads the Prometheus text format (what every proxy's `/metrics` serves).
enum PrometheusText {
    static func parse(_ text: String) -> [MetricSample] {
        var out: [MetricSample] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            var name = Substring("")
            var labels: [String: String] = [:]
            var rest: Substring
            if let brace = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}") {
                name = line[..<brace]
                labels = self.labels(line[line.index(after: brace)..<close])
                rest = line[line.index(after: close)...]
            } else {
                guard let space = line.firstIndex(of: " ") else { continue }
                name = line[..<space]
                rest = line[space...]
            }
            guard let valueText = rest.split(separator: " ").first, let value = Double(valueText) else { continue }
            out.append(MetricSample(name: String(name), labels: labels, value: value))
        }
        return out
    }

    private static func labels(_ text: Substring) -> [String: String] {
        var labels: [String: String] = [:]
        var index = text.startIndex
        while index < text.endIndex {
            guard let eq = text[index...].firstIndex(of: "=") else { break }
            let key = text[index..<eq].trimmingCharacters(in: CharacterSet(charactersIn: ", "))
            var i = text.index(after: eq)
            guard i < text.endIndex, text[i] == "\"" else { break }
            i = text.index(after: i)
            var value = ""
            while i < text.endIndex, text[i] != "\"" {
                if text[i] == "\\", text.index(after: i) < text.endIndex {
                    i = text.index(after: i)
                    value.append(text[i] == "n" ? "\n" : text[i])
                } else {
                    value.append(text[i])
                }
                i = text.index(after: i)
            }
            labels[key] = value
            index = i < text.endIndex ? text.index(after: i) : i
        }
        return labels
    }
}

/// A proxy's traffic at one moment, summed from its inbound series.
struct ProxyScrape: Sendable {
    var requests: Double = 0
    var mtlsRequests: Double = 0
    var responses: Double = 0
    var successes: Double = 0
    /// `le` → cumulative count of inbound response latencies.
    var latencyBuckets: [Double: Double] = [:]
    var openConnections: Double = 0
    var tcpOpened: Double = 0
    var mtlsTCPOpened: Double = 0
    var wouldDeny: Double = 0
    var denied: Double = 0

    init(samples: [MetricSample]) {
        for sample in samples where sample.labels["direction"] == "inbound" || sample.name.hasPrefix("lattice_inbound") {
            switch sample.name {
            case "request_total":
                self.requests += sample.value
                if sample.labels["tls"] == "true" { self.mtlsRequests += sample.value }
            case "response_total":
                self.responses += sample.value
                if sample.labels["classification"] == "success" { self.successes += sample.value }
            case "response_latency_ms_bucket":
                if let le = sample.labels["le"].flatMap({ $0 == "+Inf" ? Double.infinity : Double($0) }) {
                    self.latencyBuckets[le, default: 0] += sample.value
                }
            case "tcp_open_connections":
                self.openConnections += sample.value
            case "tcp_open_total":
                self.tcpOpened += sample.value
                if sample.labels["tls"] == "true" { self.mtlsTCPOpened += sample.value }
            case "lattice_inbound_http_audit_would_deny_total", "lattice_inbound_tcp_audit_would_deny_total":
                self.wouldDeny += sample.value
            case "inbound_http_authz_deny_total", "inbound_tcp_authz_deny_total":
                self.denied += sample.value
            default:
                break
            }
        }
    }
}

/// One workload's line of the live table: the change between two scrapes of its proxy.
struct WorkloadStatLine: Sendable {
    var name: String
    var meshed: Bool
    var reachable: Bool
    var success: Double?
    var rps: Double?
    var p50: Double?
    var p95: Double?
    var p99: Double?
    var tcpConnections: Int
    var mtlsShare: Double?
    var wouldDeny: Double
    var denied: Double

    init(name: String, meshed: Bool, before: ProxyScrape?, after: ProxyScrape?, seconds: Double) {
        self.name = name
        self.meshed = meshed
        self.reachable = after != nil
        guard let after else {
            self.tcpConnections = 0
            self.wouldDeny = 0
            self.denied = 0
            return
        }
        let before = before ?? ProxyScrape(samples: [])
        let requests = after.requests - before.requests
        let responses = after.responses - before.responses
        self.rps = seconds > 0 ? requests / seconds : nil
        self.success = responses > 0 ? (after.successes - before.successes) / responses : nil
        var buckets: [(Double, Double)] = after.latencyBuckets.map { le, count in (le, count - (before.latencyBuckets[le] ?? 0)) }
        buckets.sort { $0.0 < $1.0 }
        self.p50 = Self.quantile(0.50, buckets)
        self.p95 = Self.quantile(0.95, buckets)
        self.p99 = Self.quantile(0.99, buckets)
        self.tcpConnections = Int(after.openConnections)
        if requests > 0 {
            self.mtlsShare = (after.mtlsRequests - before.mtlsRequests) / requests
        } else if after.tcpOpened - before.tcpOpened > 0 {
            self.mtlsShare = (after.mtlsTCPOpened - before.mtlsTCPOpened) / (after.tcpOpened - before.tcpOpened)
        } else if after.tcpOpened > 0 {
            self.mtlsShare = after.mtlsTCPOpened / after.tcpOpened
        }
        self.wouldDeny = after.wouldDeny
        self.denied = after.denied
    }

    /// Prometheus' histogram_quantile: linear interpolation inside the bucket that holds the rank.
    static func quantile(_ q: Double, _ buckets: [(Double, Double)]) -> Double? {
        guard let total = buckets.last?.1, total > 0 else { return nil }
        let rank = q * total
        var previousBound = 0.0
        var previousCount = 0.0
        for (bound, count) in buckets {
            if count >= rank {
                if bound == .infinity { return previousBound }
                let inBucket = count - previousCount
                return inBucket > 0 ? previousBound + (bound - previousBound) * (rank - previousCount) / inBucket : bound
            }
            previousBound = bound
            previousCount = count
        }
        return previousBound
    }

    static let header = ["NAME", "MESHED", "SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95", "LATENCY_P99", "TCP_CONN", "MTLS", "WOULD_DENY", "DENIED"]

    var cells: [String] {
        func percent(_ v: Double?) -> String { v.map { String(format: "%.2f%%", $0 * 100) } ?? "-" }
        func ms(_ v: Double?) -> String { v.map { String(format: "%.0fms", $0) } ?? "-" }
        guard self.reachable else { return [self.name, self.meshed ? "1/1" : "0/1", "-", "-", "-", "-", "-", "-", "-", "-", "unreachable"] }
        return [
            self.name, self.meshed ? "1/1" : "0/1", percent(self.success), self.rps.map { String(format: "%.1f", $0) } ?? "-",
            ms(self.p50), ms(self.p95), ms(self.p99), "\(self.tcpConnections)", percent(self.mtlsShare),
            String(format: "%.0f", self.wouldDeny), String(format: "%.0f", self.denied),
        ]
    }

    static func table(_ lines: [WorkloadStatLine]) -> String {
        let rows = [Self.header] + lines.map(\.cells)
        var widths = Array(repeating: 0, count: Self.header.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in cell.padding(toLength: widths[i] + 2, withPad: " ", startingAt: 0) }.joined()
        }.joined(separator: "\n")
    }
}

/// Scrapes proxies' admin endpoints.
enum ProxyScraper {
    static func scrape(admin: String) async -> ProxyScrape? {
        guard let colon = admin.lastIndex(of: ":"), let port = Int(admin[admin.index(after: colon)...]) else { return nil }
        let client = KeepAliveHTTPClient(host: String(admin[..<colon]), port: port)
        defer { client.close() }
        guard let response = try? await client.get("/metrics", timeout: .seconds(2)), response.status == 200 else { return nil }
        return ProxyScrape(samples: PrometheusText.parse(response.body))
    }
}
