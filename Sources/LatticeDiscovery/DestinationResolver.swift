import LatticeModel
import LatticePolicy

/// What the destination service says about one target.
public enum DestinationAnswer: Hashable, Sendable {
    /// Known, with these endpoints (possibly none: a service with no ready pods). `authority` names the service (or
    /// the workload) for metrics.
    case endpoints(authority: String, [ResolvedEndpoint])
    /// Nothing in the mesh is at that address: forward it as it is.
    case notMeshed
}

/// One endpoint and how to reach it.
public struct ResolvedEndpoint: Hashable, Sendable {
    /// The app's `IP:PORT`.
    public var address: HostPort
    /// The identity it must present; nil when the workload has no proxy (reach it without mTLS).
    public var identity: String?
    /// The port of its proxy's inbound listener (same IP), to be dialled with a transport header naming the app port.
    public var proxyInboundPort: Int?
    /// Never detect a protocol on this port: splice it.
    public var isOpaque: Bool
    /// Its proxy accepts HTTP/2 from another proxy.
    public var acceptsHTTP2: Bool
    /// `namespace/name` of the workload, when known.
    public var workload: String?

    public init(
        address: HostPort,
        identity: String?,
        proxyInboundPort: Int?,
        isOpaque: Bool,
        acceptsHTTP2: Bool,
        workload: String?
    ) {
        self.address = address
        self.identity = identity
        self.proxyInboundPort = proxyInboundPort
        self.isOpaque = isOpaque
        self.acceptsHTTP2 = acceptsHTTP2
        self.workload = workload
    }
}

/// Answers "who is at this address?" from a snapshot: a service's virtual IP or name resolves to the ready endpoints
/// behind it, a workload's own IP:port to that workload, anything else to ``DestinationAnswer/notMeshed``.
public struct DestinationResolver: Sendable {
    public let settings: DiscoverySettings

    public init(settings: DiscoverySettings) {
        self.settings = settings
    }

    /// `target` is `HOST:PORT` where HOST is an IP or a service name (`NAME.NS`, `NAME.NS.svc`,
    /// `NAME.NS.svc.<cluster-domain>`). Unparseable targets are not meshed, never an error.
    public func resolve(_ target: String, in snapshot: MeshSnapshot) -> DestinationAnswer {
        guard let hostPort = HostPort(parsing: target.lowercased()), hostPort.port > 0 else { return .notMeshed }
        let host = hostPort.host.hasSuffix(".") ? String(hostPort.host.dropLast()) : hostPort.host
        if let ip = IPAddress(host) {
            if let service = snapshot.services.first(where: { $0.clusterIPs.contains { IPAddress($0) == ip } }) {
                return self.endpoints(of: service, port: hostPort.port, in: snapshot)
            }
            return self.workloadEndpoint(ip: ip, port: hostPort.port, in: snapshot)
        }
        if let service = self.service(named: host, in: snapshot) {
            return self.endpoints(of: service, port: hostPort.port, in: snapshot)
        }
        return .notMeshed
    }

    private func service(named host: String, in snapshot: MeshSnapshot) -> MeshService? {
        let labels = host.split(separator: ".")
        guard labels.count >= 2 else { return nil }
        let rest = labels.dropFirst(2).joined(separator: ".")
        guard rest.isEmpty || rest == "svc" || rest == "svc.\(self.settings.clusterDomain)" else { return nil }
        return snapshot.services.first { $0.name == labels[0] && $0.namespace == labels[1] }
    }

    private func endpoints(of service: MeshService, port: Int, in snapshot: MeshSnapshot) -> DestinationAnswer {
        let authority = "\(service.fqdn(clusterDomain: self.settings.clusterDomain)):\(port)"
        guard let servicePort = service.ports.first(where: { $0.port == port }) else {
            return .endpoints(authority: authority, [])
        }
        var out: [ResolvedEndpoint] = []
        for endpoint in service.endpoints where endpoint.isReady {
            let targetPort = servicePort.name.flatMap { endpoint.ports[$0] } ?? servicePort.targetPort ?? port
            let workload = endpoint.workloadName.flatMap { snapshot.workload(namespace: service.namespace, name: $0) }
                ?? self.workload(at: endpoint.address, in: snapshot)
            if let workload, !workload.isReady { continue }
            guard let address = HostPort(parsing: "\(endpoint.address.contains(":") ? "[\(endpoint.address)]" : endpoint.address):\(targetPort)")
            else { continue }
            out.append(self.endpoint(address: address, workload: workload, snapshot: snapshot))
        }
        out.sort { $0.address.description < $1.address.description }
        return .endpoints(authority: authority, out)
    }

    private func workloadEndpoint(ip: IPAddress, port: Int, in snapshot: MeshSnapshot) -> DestinationAnswer {
        // In local mode several workloads share an address: the port tells them apart.
        let candidates = snapshot.workloads.filter { workload in
            workload.addresses.contains { IPAddress($0) == ip }
        }
        let workload = candidates.first { $0.ports.contains { $0.port == port } } ?? (candidates.count == 1 ? candidates[0] : nil)
        guard let workload else { return .notMeshed }
        let address = HostPort(host: ip.description, port: port)
        return .endpoints(
            authority: "\(workload.name).\(workload.namespace):\(port)",
            [self.endpoint(address: address, workload: workload, snapshot: snapshot)]
        )
    }

    private func workload(at address: String, in snapshot: MeshSnapshot) -> MeshWorkload? {
        guard let ip = IPAddress(address) else { return nil }
        let matches = snapshot.workloads.filter { $0.addresses.contains { IPAddress($0) == ip } }
        return matches.count == 1 ? matches[0] : nil
    }

    private func endpoint(address: HostPort, workload: MeshWorkload?, snapshot: MeshSnapshot) -> ResolvedEndpoint {
        guard let workload, workload.isMeshed, let identity = workload.identity(in: self.settings.identityDomain) else {
            return ResolvedEndpoint(
                address: address,
                identity: nil,
                proxyInboundPort: nil,
                isOpaque: self.settings.defaultOpaquePorts.contains(address.port),
                acceptsHTTP2: false,
                workload: workload.map { "\($0.namespace)/\($0.name)" }
            )
        }
        let opaque = WorkloadPolicyResolver(settings: self.settings).opaquePorts(of: workload, in: snapshot)
        return ResolvedEndpoint(
            address: address,
            identity: identity.name,
            proxyInboundPort: workload.proxyInboundPort ?? self.settings.defaultProxyInboundPort,
            isOpaque: opaque.contains(address.port),
            acceptsHTTP2: true,
            workload: "\(workload.namespace)/\(workload.name)"
        )
    }
}
