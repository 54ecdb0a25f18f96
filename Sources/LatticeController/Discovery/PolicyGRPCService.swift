import GRPCCore
import LatticeAPI
import LatticeDiscovery
import Logging

/// `lattice.policy.v1.InboundPolicies/Watch`: a workload's inbound policy, then every change to it.
public struct PolicyGRPCService: Lattice_Policy_V1_InboundPolicies.SimpleServiceProtocol {
    public static let apiVersion: UInt32 = 1

    private let store: DiscoveryStore
    private let resolver: WorkloadPolicyResolver
    private let metrics: DiscoveryMetrics
    private let streams: StreamCounter
    private let logger: Logger

    public init(store: DiscoveryStore, settings: DiscoverySettings, metrics: DiscoveryMetrics, logger: Logger) {
        self.store = store
        self.resolver = WorkloadPolicyResolver(settings: settings)
        self.metrics = metrics
        self.streams = StreamCounter(gauge: metrics.policyStreams)
        self.logger = logger
    }

    public func watch(
        request: Lattice_Policy_V1_WatchInbound,
        response: RPCWriter<Lattice_Policy_V1_InboundPolicy>,
        context: ServerContext
    ) async throws {
        self.streams.opened()
        defer { self.streams.closed() }
        let policyOf = { @Sendable (snapshot: MeshSnapshot) in
            self.resolver.policy(namespace: request.namespace, name: request.workload, in: snapshot)
        }
        try await untilRPCCancelled {
            try await self.store.forEachChange(of: policyOf) { policy in
                if let problems = policy?.problems, !problems.isEmpty {
                    self.logger.warning(
                        "workload annotations have problems",
                        metadata: ["workload": "\(request.namespace)/\(request.workload)", "problems": "\(problems)"]
                    )
                }
                try await response.write(Self.message(policy))
                self.metrics.policyUpdates.increment()
            }
        }
    }

    static func message(_ policy: WorkloadPolicy?) -> Lattice_Policy_V1_InboundPolicy {
        var message = Lattice_Policy_V1_InboundPolicy()
        message.apiVersion = Self.apiVersion
        guard let policy else { return message }
        message.known = true
        message.defaultPolicy = policy.defaultPolicy.rawValue
        message.ports = policy.ports.map { port in
            var p = Lattice_Policy_V1_PortPolicy()
            p.port = UInt32(port.port)
            p.policy = port.policy.rawValue
            p.opaque = port.isOpaque
            return p
        }
        message.opaquePorts = policy.opaquePorts.sorted().map(UInt32.init)
        message.skipInboundPorts = policy.skipInboundPorts.sorted().map(UInt32.init)
        message.clusterNetworks = policy.clusterNetworks.map(\.description)
        message.probes = policy.probes.map { probe in
            var p = Lattice_Policy_V1_Probe()
            p.port = UInt32(probe.port)
            p.path = probe.path
            return p
        }
        message.problems = policy.problems
        return message
    }
}
