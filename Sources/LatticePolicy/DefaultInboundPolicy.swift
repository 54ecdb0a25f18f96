/// A workload's default inbound policy, with Linkerd's semantics and names
/// (`config.lattice.io/default-inbound-policy`, or the runbook's `config.linkerd.io/default-inbound-policy`).
public enum DefaultInboundPolicy: String, CaseIterable, Sendable {
    /// Anyone may connect.
    case allUnauthenticated = "all-unauthenticated"
    /// Only mTLS with a mesh identity, from anywhere.
    case allAuthenticated = "all-authenticated"
    /// Anyone from the cluster networks.
    case clusterUnauthenticated = "cluster-unauthenticated"
    /// mTLS with a mesh identity and from the cluster networks.
    case clusterAuthenticated = "cluster-authenticated"
    /// Nobody (kubelet probes excepted).
    case deny
    /// Allow everything, but count and log what `cluster-authenticated` would refuse.
    case audit

    /// Parses a policy name, with an error naming the valid ones.
    public static func parse(_ text: String) throws(PolicyError) -> DefaultInboundPolicy {
        guard let policy = DefaultInboundPolicy(rawValue: text.trimmingASCIIWhitespace()) else {
            throw PolicyError(
                "'\(text)' is not a default-inbound-policy; use one of "
                    + DefaultInboundPolicy.allCases.map(\.rawValue).joined(separator: ", ")
            )
        }
        return policy
    }
}

/// A policy setting that cannot be understood.
public struct PolicyError: Error, Hashable, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { self.reason }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
