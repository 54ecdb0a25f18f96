import LatticePolicy
import Logging
import NIOHTTP1

/// Inbound policy for the HTTP requests of one connection: the connection's verdict applies to every request,
/// except the pod's own health probes (GET of a configured port and path, from the probe networks), which stay
/// allowed under every policy. Every request's decision is counted.
struct InboundHTTPAuthorizer: Sendable {
    let decision: PolicyDecision
    let port: Int
    let isPlaintext: Bool
    let source: IPAddress?
    let probes: Set<ProbeRoute>
    let probeNetworks: [IPNetwork]
    let labels: [String: String]
    let metrics: ProxyMetrics
    let logger: Logger

    /// Nil when the request may pass; otherwise why it is refused.
    func authorize(_ head: HTTPRequestHead) -> DenyReason? {
        var labels = self.labels
        if self.decision.isAllowed {
            self.metrics.httpAuthzAllow.cell(labels).add(1)
            if let reason = self.decision.reason {
                labels["reason"] = reason.rawValue
                self.metrics.httpAuthzAudit.cell(labels).add(1)
                self.logger.info(
                    "audit: cluster-authenticated would deny this request",
                    metadata: ["reason": "\(reason.rawValue)", "http.request.method": "\(head.method.rawValue)"]
                )
            }
            return nil
        }
        if self.isProbe(head) {
            labels["srv_name"] = "default:probe"
            self.metrics.httpAuthzAllow.cell(labels).add(1)
            return nil
        }
        let reason = self.decision.reason ?? .denyAll
        labels["reason"] = reason.rawValue
        self.metrics.httpAuthzDeny.cell(labels).add(1)
        self.logger.debug("request denied by policy", metadata: ["reason": "\(reason.rawValue)"])
        return reason
    }

    func isProbe(_ head: HTTPRequestHead) -> Bool {
        guard self.isPlaintext, head.method == .GET || head.method == .HEAD else { return false }
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
        guard self.probes.contains(ProbeRoute(port: self.port, path: path)) else { return false }
        guard let source = self.source else { return false }
        return self.probeNetworks.contains { $0.contains(source.unmapped) }
    }
}
