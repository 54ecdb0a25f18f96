import LatticeModel
import LatticePolicy

/// A workload's inbound policy as its proxy applies it.
public struct WorkloadPolicy: Hashable, Sendable {
    /// The policy of every port not listed in ``ports``.
    public var defaultPolicy: DefaultInboundPolicy
    /// Per declared port.
    public var ports: [PortPolicy]
    public var opaquePorts: Set<Int>
    /// Ports the proxy never sees (lattice-init does not redirect them).
    public var skipInboundPorts: Set<Int>
    public var clusterNetworks: [IPNetwork]
    public var probes: [ProbeSpec]
    /// Annotation problems the controller reports (conflicting spellings, values it could not use).
    public var problems: [String]

    public init(
        defaultPolicy: DefaultInboundPolicy,
        ports: [PortPolicy] = [],
        opaquePorts: Set<Int> = [],
        skipInboundPorts: Set<Int> = [],
        clusterNetworks: [IPNetwork] = [],
        probes: [ProbeSpec] = [],
        problems: [String] = []
    ) {
        self.defaultPolicy = defaultPolicy
        self.ports = ports
        self.opaquePorts = opaquePorts
        self.skipInboundPorts = skipInboundPorts
        self.clusterNetworks = clusterNetworks
        self.probes = probes
        self.problems = problems
    }

    /// The policy on `port`.
    public func policy(port: Int) -> DefaultInboundPolicy {
        self.ports.first { $0.port == port }?.policy ?? self.defaultPolicy
    }
}

public struct PortPolicy: Hashable, Sendable {
    public var port: Int
    public var policy: DefaultInboundPolicy
    public var isOpaque: Bool

    public init(port: Int, policy: DefaultInboundPolicy, isOpaque: Bool) {
        self.port = port
        self.policy = policy
        self.isOpaque = isOpaque
    }
}

/// Computes a workload's policy from its annotations, its namespace's and the controller's defaults.
public struct WorkloadPolicyResolver: Sendable {
    public let settings: DiscoverySettings

    public init(settings: DiscoverySettings) {
        self.settings = settings
    }

    /// Nil when the snapshot has no such workload.
    public func policy(namespace: String, name: String, in snapshot: MeshSnapshot) -> WorkloadPolicy? {
        guard let workload = snapshot.workload(namespace: namespace, name: name) else { return nil }
        return self.policy(of: workload, in: snapshot)
    }

    public func policy(of workload: MeshWorkload, in snapshot: MeshSnapshot) -> WorkloadPolicy {
        let lookup = snapshot.annotations(of: workload)
        var problems = lookup.conflicts.map(\.description)
        var defaultPolicy = self.settings.defaultInboundPolicy
        if let text = lookup.value(.defaultInboundPolicy) {
            do {
                defaultPolicy = try DefaultInboundPolicy.parse(text)
            } catch {
                problems.append("\(AnnotationKey.defaultInboundPolicy.rawValue): \(error.reason); using \(defaultPolicy.rawValue)")
            }
        }
        let opaque = self.opaquePorts(of: workload, in: snapshot, problems: &problems)
        var skip: Set<Int> = []
        if let text = lookup.value(.skipInboundPorts) {
            if let ports = PortRanges.ports(text) {
                skip = ports
            } else {
                problems.append("\(AnnotationKey.skipInboundPorts.rawValue)='\(text)' is not a list of ports or ranges; ignored")
            }
        }
        let ports = workload.ports.map { PortPolicy(port: $0.port, policy: defaultPolicy, isOpaque: opaque.contains($0.port)) }
        return WorkloadPolicy(
            defaultPolicy: defaultPolicy,
            ports: ports,
            opaquePorts: opaque,
            skipInboundPorts: skip,
            clusterNetworks: self.settings.clusterNetworks,
            probes: workload.probes,
            problems: problems
        )
    }

    /// The workload's opaque ports: its annotation (or its namespace's), else the controller's default list.
    public func opaquePorts(of workload: MeshWorkload, in snapshot: MeshSnapshot) -> Set<Int> {
        var ignored: [String] = []
        return self.opaquePorts(of: workload, in: snapshot, problems: &ignored)
    }

    private func opaquePorts(of workload: MeshWorkload, in snapshot: MeshSnapshot, problems: inout [String]) -> Set<Int> {
        guard let text = snapshot.annotations(of: workload).value(.opaquePorts) else {
            return self.settings.defaultOpaquePorts
        }
        // Named ports are resolved against the workload's declared ports.
        var ports: Set<Int> = []
        for item in text.split(separator: ",").map({ $0.filter { $0 != " " } }) where !item.isEmpty {
            if let named = workload.ports.first(where: { $0.name == item }) {
                ports.insert(named.port)
            } else if let parsed = PortRanges.ports(item) {
                ports.formUnion(parsed)
            } else {
                problems.append("\(AnnotationKey.opaquePorts.rawValue): '\(item)' is not a port, a range or a port name of the workload; ignored")
            }
        }
        return ports
    }
}
