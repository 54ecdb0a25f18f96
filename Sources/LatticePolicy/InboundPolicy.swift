/// How an inbound connection's peer presented itself.
public enum PeerAuthentication: Hashable, Sendable {
    /// Mesh mTLS: the client proved this identity with a certificate from the mesh's anchors.
    case meshTLS(identity: String)
    /// TLS that is not the mesh's (another SNI): passed through to the app, the peer unknown.
    case opaqueTLS
    /// No TLS at all.
    case plaintext

    public var isAuthenticated: Bool {
        if case .meshTLS = self { return true }
        return false
    }
}

/// Why a connection or request was (or, under `audit`, would have been) refused.
public enum DenyReason: String, Hashable, Sendable {
    /// The policy needs a mesh identity and the peer has none.
    case unauthenticated
    /// The policy needs the peer to be in the cluster networks.
    case notInClusterNetworks = "not_in_cluster_networks"
    /// The policy is `deny`.
    case denyAll = "deny_all"
}

/// The verdict on one inbound connection.
///
/// A verdict, not an error: `deny` is an ordinary outcome the proxy counts and acts on (close the connection, or
/// answer 403 to an HTTP request).
public struct PolicyDecision: Hashable, Sendable {
    public let isAllowed: Bool
    /// Why it was denied; under `audit`, why `cluster-authenticated` would have denied it.
    public let reason: DenyReason?
    /// The policy that decided (its annotation value), for metric labels.
    public let policy: DefaultInboundPolicy

    /// True when allowed only because the policy is `audit`.
    public var isAuditViolation: Bool { self.isAllowed && self.reason != nil }
}

/// A workload's inbound policy: the default policy and the networks it refers to.
public struct InboundPolicy: Hashable, Sendable {
    public var defaultPolicy: DefaultInboundPolicy
    public var clusterNetworks: [IPNetwork]

    public init(defaultPolicy: DefaultInboundPolicy, clusterNetworks: [IPNetwork] = IPNetwork.linkerdDefaults) {
        self.defaultPolicy = defaultPolicy
        self.clusterNetworks = clusterNetworks
    }

    /// Decides on a connection from `source` that authenticated as `peer`.
    public func decide(peer: PeerAuthentication, source: IPAddress?) -> PolicyDecision {
        let policy = self.defaultPolicy
        switch policy {
        case .allUnauthenticated:
            return PolicyDecision(isAllowed: true, reason: nil, policy: policy)
        case .allAuthenticated:
            return peer.isAuthenticated
                ? PolicyDecision(isAllowed: true, reason: nil, policy: policy)
                : PolicyDecision(isAllowed: false, reason: .unauthenticated, policy: policy)
        case .clusterUnauthenticated:
            return self.inCluster(source)
                ? PolicyDecision(isAllowed: true, reason: nil, policy: policy)
                : PolicyDecision(isAllowed: false, reason: .notInClusterNetworks, policy: policy)
        case .clusterAuthenticated:
            return PolicyDecision(isAllowed: self.clusterAuthenticatedReason(peer, source) == nil,
                                  reason: self.clusterAuthenticatedReason(peer, source), policy: policy)
        case .deny:
            return PolicyDecision(isAllowed: false, reason: .denyAll, policy: policy)
        case .audit:
            return PolicyDecision(isAllowed: true, reason: self.clusterAuthenticatedReason(peer, source), policy: policy)
        }
    }

    /// What `cluster-authenticated` would object to, if anything (the rule `audit` reports against).
    func clusterAuthenticatedReason(_ peer: PeerAuthentication, _ source: IPAddress?) -> DenyReason? {
        if !peer.isAuthenticated { return .unauthenticated }
        if !self.inCluster(source) { return .notInClusterNetworks }
        return nil
    }

    func inCluster(_ source: IPAddress?) -> Bool {
        guard let source else { return false }
        return self.clusterNetworks.contains { $0.contains(source) }
    }
}
