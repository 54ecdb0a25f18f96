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

/// Port lists as annotations spell them: `25,587,8000-8010`.
public enum PortList {
    /// Nil when an item is not a port or a range (the caller reports it).
    public static func parse(_ text: String) -> Set<Int>? {
        var ports: Set<Int> = []
        for item in text.split(separator: ",") {
            let trimmed = item.filter { $0 != " " }
            if trimmed.isEmpty { continue }
            let bounds = trimmed.split(separator: "-", maxSplits: 1).map { Int($0) }
            guard let low = bounds.first ?? nil, let high = bounds.last ?? nil, (1...65535).contains(low),
                (1...65535).contains(high), low <= high
            else { return nil }
            ports.formUnion(low...high)
        }
        return ports
    }
}
