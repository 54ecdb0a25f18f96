import LatticeModel
import LatticePolicy

/// The controller-wide settings answers are computed with.
public struct DiscoverySettings: Hashable, Sendable {
    public var identityDomain: IdentityDomain
    /// The DNS suffix of service names (`NAME.NS.svc.<clusterDomain>`).
    public var clusterDomain: String
    /// The policy of a workload that sets none (nor does its namespace).
    public var defaultInboundPolicy: DefaultInboundPolicy
    public var clusterNetworks: [IPNetwork]
    /// Ports treated as opaque unless a workload's annotation says otherwise (Linkerd's defaults).
    public var defaultOpaquePorts: Set<Int>
    /// The proxy's inbound port where a workload names none.
    public var defaultProxyInboundPort: Int

    public init(
        identityDomain: IdentityDomain = .default,
        clusterDomain: String = "cluster.local",
        defaultInboundPolicy: DefaultInboundPolicy = .allUnauthenticated,
        clusterNetworks: [IPNetwork] = IPNetwork.linkerdDefaults,
        defaultOpaquePorts: Set<Int> = [25, 587, 3306, 4444, 5432, 6379, 9300, 11211],
        defaultProxyInboundPort: Int = 4143
    ) {
        self.identityDomain = identityDomain
        self.clusterDomain = clusterDomain
        self.defaultInboundPolicy = defaultInboundPolicy
        self.clusterNetworks = clusterNetworks
        self.defaultOpaquePorts = defaultOpaquePorts
        self.defaultProxyInboundPort = defaultProxyInboundPort
    }
}

