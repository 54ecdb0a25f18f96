import LatticePolicy
import Logging
import NIOHTTP1

/// Inbound policy for the HTTP requests of one connection: the connection's verdict applies to every request,
/// except the pod's own health probes (GET or HEAD of a configured port and path, plaintext, from the probe
/// networks), which stay allowed under every policy. Every request's decision is counted.
///
/// The verdict, the counters it goes to and whether probes may pass are all fixed per connection, so they are
/// settled once here; a request only costs an atomic add (and, when denied, a probe path lookup).
struct InboundHTTPAuthorizer: Sendable {
    let decision: PolicyDecision
    let port: Int
    let logger: Logger
    /// `inbound_http_authz_allow_total` or `…_deny_total`, per the verdict.
    private let verdict: MetricCell
    /// Under `audit`, what `cluster-authenticated` would refuse.
    private let audit: MetricCell?
    /// Probes that may pass a refusing verdict (none unless the peer is plaintext from the probe networks).
    private let probes: Set<ProbeRoute>
    private let probeAllowed: MetricCell?

    init(
        decision: PolicyDecision,
        port: Int,
        peer: PeerAuthentication,
        source: IPAddress?,
        labels: [String: String],
        config: ProxyConfig,
        probes: Set<ProbeRoute>,
        metrics: ProxyMetrics,
        logger: Logger
    ) {
        self.decision = decision
        self.port = port
        self.logger = logger
        var labels = labels
        if decision.isAllowed {
            self.verdict = metrics.httpAuthzAllow.cell(labels)
            self.audit = decision.reason.map { reason in
                var auditLabels = labels
                auditLabels["reason"] = reason.rawValue
                return metrics.httpAuthzAudit.cell(auditLabels)
            }
            self.probes = []
            self.probeAllowed = nil
        } else {
            var denyLabels = labels
            denyLabels["reason"] = (decision.reason ?? .denyAll).rawValue
            self.verdict = metrics.httpAuthzDeny.cell(denyLabels)
            self.audit = nil
            let probesOpen = peer == .plaintext
                && source.map { source in config.probeNetworks.contains { $0.contains(source.unmapped) } } == true
            self.probes = probesOpen ? probes.filter { $0.port == port } : []
            labels["srv_name"] = "default:probe"
            self.probeAllowed = self.probes.isEmpty ? nil : metrics.httpAuthzAllow.cell(labels)
        }
    }

    /// Nil when the request may pass; otherwise why it is refused.
    func authorize(_ head: HTTPRequestHead) -> DenyReason? {
        if self.decision.isAllowed {
            self.verdict.add(1)
            if let audit = self.audit, let reason = self.decision.reason {
                audit.add(1)
                self.logger.info(
                    "audit: cluster-authenticated would deny this request",
                    metadata: ["reason": "\(reason.rawValue)", "http.request.method": "\(head.method.rawValue)"]
                )
            }
            return nil
        }
        if let probeAllowed = self.probeAllowed, self.isProbe(head) {
            probeAllowed.add(1)
            return nil
        }
        let reason = self.decision.reason ?? .denyAll
        self.verdict.add(1)
        self.logger.debug("request denied by policy", metadata: ["reason": "\(reason.rawValue)"])
        return reason
    }

    private func isProbe(_ head: HTTPRequestHead) -> Bool {
        guard head.method == .GET || head.method == .HEAD else { return false }
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
        return self.probes.contains(ProbeRoute(port: self.port, path: path))
    }
}
