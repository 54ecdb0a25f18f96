import LatticeModel
import LatticePolicy

/// Everything the destination and policy services answer from: the mesh's workloads, services and namespaces at one
/// moment. Backends (a local registry file, the Kubernetes API) build it; ``DiscoveryStore`` publishes it.
public struct MeshSnapshot: Hashable, Sendable {
    public var workloads: [MeshWorkload]
    public var services: [MeshService]
    /// Namespace name → its annotations (a namespace with none may be absent).
    public var namespaceAnnotations: [String: [String: String]]

    public init(
        workloads: [MeshWorkload] = [],
        services: [MeshService] = [],
        namespaceAnnotations: [String: [String: String]] = [:]
    ) {
        self.workloads = workloads
        self.services = services
        self.namespaceAnnotations = namespaceAnnotations
    }

    public static let empty = MeshSnapshot()

    public func workload(namespace: String, name: String) -> MeshWorkload? {
        self.workloads.first { $0.namespace == namespace && $0.name == name }
    }

    /// The annotations that apply to `workload`, its own over its namespace's.
    public func annotations(of workload: MeshWorkload) -> AnnotationLookup {
        AnnotationLookup(workload: workload.annotations, namespace: self.namespaceAnnotations[workload.namespace] ?? [:])
    }
}

/// One workload instance (a pod, or a process in local mode).
public struct MeshWorkload: Hashable, Sendable {
    public var name: String
    public var namespace: String
    public var serviceAccount: String
    /// The IPs it is reached at (a pod's IPs; 127.0.0.1 in local mode).
    public var addresses: [String]
    /// The ports its app listens on.
    public var ports: [WorkloadPort]
    public var labels: [String: String]
    public var annotations: [String: String]
    /// Whether a proxy runs beside it (injected, or started by `lattice demo`). Unmeshed workloads are discovered
    /// but have no identity.
    public var isMeshed: Bool
    /// Where its proxy's inbound listener is, when it is not the default :4143 on the workload's address (local mode,
    /// where several proxies share one loopback).
    public var proxyInboundPort: Int?
    /// Its proxy's admin port (`/metrics`, `/ready`), when known.
    public var proxyAdminPort: Int?
    /// The pod spec's HTTP probes: allowed in plaintext under every policy.
    public var probes: [ProbeSpec]
    /// Local mode: the services the workload calls, each through a local outbound port of its proxy.
    public var upstreams: [LocalUpstream]
    /// False while a pod is not ready (Kubernetes); such a workload is not an endpoint.
    public var isReady: Bool

    public init(
        name: String,
        namespace: String,
        serviceAccount: String = "default",
        addresses: [String],
        ports: [WorkloadPort] = [],
        labels: [String: String] = [:],
        annotations: [String: String] = [:],
        isMeshed: Bool = true,
        proxyInboundPort: Int? = nil,
        proxyAdminPort: Int? = nil,
        probes: [ProbeSpec] = [],
        upstreams: [LocalUpstream] = [],
        isReady: Bool = true
    ) {
        self.name = name
        self.namespace = namespace
        self.serviceAccount = serviceAccount
        self.addresses = addresses
        self.ports = ports
        self.labels = labels
        self.annotations = annotations
        self.isMeshed = isMeshed
        self.proxyInboundPort = proxyInboundPort
        self.proxyAdminPort = proxyAdminPort
        self.probes = probes
        self.upstreams = upstreams
        self.isReady = isReady
    }

    /// Its mesh identity in `domain`, or nil when its names are not valid DNS labels.
    public func identity(in domain: IdentityDomain) -> WorkloadIdentity? {
        try? WorkloadIdentity(serviceAccount: self.serviceAccount, namespace: self.namespace, domain: domain)
    }
}

public struct WorkloadPort: Hashable, Sendable {
    public var port: Int
    public var name: String?
    /// `http`, `http2`, `grpc`, `tcp`, … (a Kubernetes `appProtocol`, or the registry's `protocol`).
    public var appProtocol: String?

    public init(port: Int, name: String? = nil, appProtocol: String? = nil) {
        self.port = port
        self.name = name
        self.appProtocol = appProtocol
    }
}

/// An HTTP probe of the pod spec (`httpGet` port and path).
public struct ProbeSpec: Hashable, Sendable {
    public var port: Int
    public var path: String

    public init(port: Int, path: String) {
        self.port = port
        self.path = path
    }
}

/// A service a local-mode workload calls: its proxy listens on `localPort` (loopback) and sends what arrives there to
/// `target` (a service authority `NAME.NS.svc.cluster.local:PORT`, or any address destination resolves).
public struct LocalUpstream: Hashable, Sendable {
    public var target: String
    public var localPort: Int

    public init(target: String, localPort: Int) {
        self.target = target
        self.localPort = localPort
    }
}

/// A Service: a stable name and virtual addresses in front of workloads.
public struct MeshService: Hashable, Sendable {
    public var name: String
    public var namespace: String
    /// Virtual IPs (a ClusterIP); empty for a headless service.
    public var clusterIPs: [String]
    public var ports: [ServicePortSpec]
    /// Who stands behind it (from EndpointSlices, or from the registry's selector).
    public var endpoints: [ServiceEndpoint]
    public var annotations: [String: String]

    public init(
        name: String,
        namespace: String,
        clusterIPs: [String] = [],
        ports: [ServicePortSpec],
        endpoints: [ServiceEndpoint] = [],
        annotations: [String: String] = [:]
    ) {
        self.name = name
        self.namespace = namespace
        self.clusterIPs = clusterIPs
        self.ports = ports
        self.endpoints = endpoints
        self.annotations = annotations
    }

    /// `NAME.NS.svc.<cluster-domain>`.
    public func fqdn(clusterDomain: String) -> String { "\(self.name).\(self.namespace).svc.\(clusterDomain)" }
}

public struct ServicePortSpec: Hashable, Sendable {
    public var port: Int
    public var name: String?
    /// The workload port it forwards to; nil means the same number. A named target port is resolved per endpoint
    /// (``ServiceEndpoint/ports``).
    public var targetPort: Int?
    public var appProtocol: String?

    public init(port: Int, name: String? = nil, targetPort: Int? = nil, appProtocol: String? = nil) {
        self.port = port
        self.name = name
        self.targetPort = targetPort
        self.appProtocol = appProtocol
    }
}

/// One address behind a service.
public struct ServiceEndpoint: Hashable, Sendable {
    public var address: String
    /// The workload (pod) it belongs to, in the service's namespace, when known.
    public var workloadName: String?
    /// Service port name → the port on this endpoint (an EndpointSlice's ports); empty: use the service's target port.
    public var ports: [String: Int]
    public var isReady: Bool

    public init(address: String, workloadName: String? = nil, ports: [String: Int] = [:], isReady: Bool = true) {
        self.address = address
        self.workloadName = workloadName
        self.ports = ports
        self.isReady = isReady
    }
}
