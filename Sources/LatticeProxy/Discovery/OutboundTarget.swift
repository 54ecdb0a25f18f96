import LatticeModel
import NIOCore
import Synchronization

/// One outbound listener's destination: fixed endpoints from the configuration, or a target the controller's
/// destination service resolves and keeps up to date. Connections read the current answer once when they are
/// accepted (and HTTP connections again when it has changed, at their next request).
final class OutboundTarget: Sendable {
    /// The endpoints at one moment and the balancer that spreads load across them.
    struct Resolved: Sendable {
        let upstream: Upstream
        /// Nil when there is no endpoint to send to.
        let balancer: EndpointBalancer?
    }

    let listen: HostPort
    /// What is asked of destination; nil for a fixed upstream.
    let discoveryTarget: String?
    private let state: Mutex<Resolved>
    private let onChange: @Sendable () -> Void
    private let answered = Atomic<Bool>(false)
    private let connections = Atomic<Int>(0)

    /// Connections accepted for this target and still open (a transparent target in use is never expired).
    var openConnections: Int { self.connections.load(ordering: .relaxed) }

    /// Counts `channel` as using this target until it closes.
    func track(_ channel: any Channel) {
        self.connections.add(1, ordering: .relaxed)
        channel.closeFuture.whenComplete { _ in self.connections.subtract(1, ordering: .relaxed) }
    }

    /// True once destination has answered (always for a fixed upstream).
    var hasAnswer: Bool { self.discoveryTarget == nil || self.answered.load(ordering: .relaxed) }

    /// A fixed upstream from the configuration.
    init(fixed upstream: Upstream) {
        self.listen = upstream.listen
        self.discoveryTarget = nil
        self.state = Mutex(Resolved(upstream: upstream, balancer: EndpointBalancer(count: upstream.endpoints.count)))
        self.onChange = {}
    }

    /// An upstream discovered from `target`; until the first answer, connections go to the target itself without
    /// mTLS, counted as `no_tls_reason="discovery_unavailable"`.
    init(listen: HostPort, target: HostPort, onChange: @escaping @Sendable () -> Void) {
        self.listen = listen
        self.discoveryTarget = target.description
        let upstream = Upstream(
            listen: listen,
            endpoints: [.plain(target)],
            authority: target.description,
            plainReason: "discovery_unavailable"
        )
        self.state = Mutex(Resolved(upstream: upstream, balancer: EndpointBalancer(count: 1)))
        self.onChange = onChange
    }

    var current: Resolved { self.state.withLock { $0 } }

    /// Installs a destination answer. Returns false when it changed nothing.
    @discardableResult
    func apply(_ update: DestinationUpdate) -> Bool {
        guard let target = self.discoveryTarget.flatMap(HostPort.init(parsing:)) else { return false }
        let upstream: Upstream
        switch update {
        case .notMeshed:
            upstream = Upstream(listen: self.listen, endpoints: [.plain(target)], authority: target.description)
        case .endpoints(let authority, let endpoints):
            upstream = Upstream(
                listen: self.listen,
                endpoints: endpoints.map { endpoint in
                    guard !endpoint.identity.isEmpty else { return .plain(endpoint.address) }
                    let proxyPort = endpoint.transportPort == 0 ? endpoint.address.port : endpoint.transportPort
                    return .meshed(
                        identity: endpoint.identity,
                        proxy: HostPort(host: endpoint.address.host, port: proxyPort),
                        appPort: endpoint.address.port
                    )
                },
                authority: authority.isEmpty ? target.description : authority,
                opaqueHint: endpoints.isEmpty ? nil : endpoints.allSatisfy(\.opaque)
            )
        }
        self.answered.store(true, ordering: .relaxed)
        let changed = self.state.withLock { state -> Bool in
            guard state.upstream != upstream else { return false }
            state = Resolved(
                upstream: upstream,
                balancer: upstream.endpoints.isEmpty ? nil : EndpointBalancer(count: upstream.endpoints.count)
            )
            return true
        }
        if changed { self.onChange() }
        return changed
    }
}
