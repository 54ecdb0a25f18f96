import LatticePolicy
import Synchronization

/// The inbound policy in force: the starting configuration's, overridden by the controller's policy stream once it
/// answers for this workload (per port). While the controller is away the last answer stands.
final class InboundPolicyState: Sendable {
    struct Current: Sendable, Equatable {
        var defaultPolicy: DefaultInboundPolicy
        var portPolicies: [Int: DefaultInboundPolicy]
        var clusterNetworks: [IPNetwork]
        var probes: Set<ProbeRoute>
        /// True once the controller has answered for this workload.
        var fromController: Bool
    }

    private let state: Mutex<Current>
    private let onChange: @Sendable () -> Void

    init(config: ProxyConfig, onChange: @escaping @Sendable () -> Void = {}) {
        self.state = Mutex(
            Current(
                defaultPolicy: config.policy.defaultPolicy,
                portPolicies: [:],
                clusterNetworks: config.policy.clusterNetworks,
                probes: config.probes,
                fromController: false
            )
        )
        self.onChange = onChange
    }

    var current: Current { self.state.withLock { $0 } }

    /// The policy on the app's `port` (looked up once per connection).
    func policy(port: Int) -> InboundPolicy {
        self.state.withLock { state in
            InboundPolicy(defaultPolicy: state.portPolicies[port] ?? state.defaultPolicy, clusterNetworks: state.clusterNetworks)
        }
    }

    var probes: Set<ProbeRoute> { self.state.withLock { $0.probes } }

    /// Installs the controller's answer. An unknown workload leaves the starting configuration; values the proxy
    /// cannot use are reported and the previous one kept. Returns what was wrong, for the log.
    @discardableResult
    func apply(_ update: PolicyUpdate) -> [String] {
        guard update.known else { return [] }
        var problems: [String] = []
        var next = self.current
        if let policy = try? DefaultInboundPolicy.parse(update.defaultPolicy) {
            next.defaultPolicy = policy
        } else {
            problems.append("default policy '\(update.defaultPolicy)' is not one this proxy knows; keeping \(next.defaultPolicy.rawValue)")
        }
        var ports: [Int: DefaultInboundPolicy] = [:]
        for port in update.ports {
            if let policy = try? DefaultInboundPolicy.parse(port.policy) {
                ports[port.port] = policy
            } else {
                problems.append("port \(port.port): policy '\(port.policy)' unknown; using the default")
            }
        }
        next.portPolicies = ports
        if !update.clusterNetworks.isEmpty {
            if let networks = try? IPNetwork.parseList(update.clusterNetworks.joined(separator: ",")) {
                next.clusterNetworks = networks
            } else {
                problems.append("cluster networks \(update.clusterNetworks) unusable; keeping the previous ones")
            }
        }
        next.probes = Set(update.probes.filter { (1...65535).contains($0.port) && $0.path.hasPrefix("/") }.map { ProbeRoute(port: $0.port, path: $0.path) })
        next.fromController = true
        let changed = self.state.withLock { state -> Bool in
            guard state != next else { return false }
            state = next
            return true
        }
        if changed { self.onChange() }
        return problems
    }
}
