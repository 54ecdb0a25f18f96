import LatticeModel

/// The mesh-wide settings injection works from: what the proxy and init containers look like, where the controller
/// is, and which workloads are opted in by configuration (not annotation).
///
/// One shape, three users: `lattice install` and the `lattice-control-plane` chart write it as the `config.yaml` key of
/// the `lattice-config` ConfigMap in the control plane's namespace; the controller reads (and watches) that ConfigMap
/// for its injector webhook; `lattice inject --manual` reads it from a file (or uses these defaults). Keys are the
/// camelCase names below; every key is optional and falls back to the default shown.
public struct MeshConfig: Codable, Hashable, Sendable {
    /// The name of the ConfigMap the controller watches, and its data key.
    public static let configMapName = "lattice-config"
    public static let configMapKey = "config.yaml"

    public var proxy: ProxySettings
    public var controller: ControllerSettings
    /// `NAME.NS.svc.<clusterDomain>`.
    public var clusterDomain: String
    /// The `<trust-domain>` of identities (`…identity.lattice.<trustDomain>`).
    public var trustDomain: String
    /// CIDRs the proxies treat as "the cluster" (policy `cluster-*`); Linkerd's defaults.
    public var clusterNetworks: [String]
    /// The policy of a workload that sets none.
    public var defaultInboundPolicy: String
    /// Opt-in by configuration (the runbook's Strategy A namespace-wide, Strategy B per service).
    public var inject: InjectionSelection

    public init(
        proxy: ProxySettings = .init(),
        controller: ControllerSettings = .init(),
        clusterDomain: String = "cluster.local",
        trustDomain: String = "cluster.local",
        clusterNetworks: [String] = ["10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"],
        defaultInboundPolicy: String = "all-unauthenticated",
        inject: InjectionSelection = .init()
    ) {
        self.proxy = proxy
        self.controller = controller
        self.clusterDomain = clusterDomain
        self.trustDomain = trustDomain
        self.clusterNetworks = clusterNetworks
        self.defaultInboundPolicy = defaultInboundPolicy
        self.inject = inject
    }

    public init(from decoder: any Decoder) throws {
        let defaults = MeshConfig()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.proxy = try c.decodeIfPresent(ProxySettings.self, forKey: .proxy) ?? defaults.proxy
        self.controller = try c.decodeIfPresent(ControllerSettings.self, forKey: .controller) ?? defaults.controller
        self.clusterDomain = try c.decodeIfPresent(String.self, forKey: .clusterDomain) ?? defaults.clusterDomain
        self.trustDomain = try c.decodeIfPresent(String.self, forKey: .trustDomain) ?? defaults.trustDomain
        self.clusterNetworks = try c.decodeIfPresent([String].self, forKey: .clusterNetworks) ?? defaults.clusterNetworks
        self.defaultInboundPolicy =
            try c.decodeIfPresent(String.self, forKey: .defaultInboundPolicy) ?? defaults.defaultInboundPolicy
        self.inject = try c.decodeIfPresent(InjectionSelection.self, forKey: .inject) ?? defaults.inject
    }
}

extension MeshConfig {
    /// How the sidecar is added.
    public enum NativeSidecar: String, Codable, Hashable, Sendable {
        /// An init container with `restartPolicy: Always` (Kubernetes ≥ 1.29).
        case `true`
        /// A regular container with a post-start hook that waits for readiness.
        case `false`
        /// Native when the controller found Kubernetes ≥ 1.29 at start (`/version`).
        case auto
    }

    /// CPU and memory, as Kubernetes quantities (`"10m"`, `"32Mi"`); nil leaves it unset.
    public struct Resources: Codable, Hashable, Sendable {
        public var cpuRequest: String?
        public var cpuLimit: String?
        public var memoryRequest: String?
        public var memoryLimit: String?

        public init(cpuRequest: String? = nil, cpuLimit: String? = nil, memoryRequest: String? = nil, memoryLimit: String? = nil) {
            self.cpuRequest = cpuRequest
            self.cpuLimit = cpuLimit
            self.memoryRequest = memoryRequest
            self.memoryLimit = memoryLimit
        }
    }

    public struct ProxySettings: Codable, Hashable, Sendable {
        public var image: String
        public var initImage: String
        public var imagePullPolicy: String
        /// The proxy's UID: lattice-init exempts it from redirection, so it must match.
        public var uid: Int
        public var inboundPort: Int
        public var outboundPort: Int
        public var adminPort: Int
        public var nativeSidecar: NativeSidecar
        /// Defaults come from the benchmark's measured footprint (bench/README.md).
        public var resources: Resources
        /// The per-proxy connection cap (`LATTICE_PROXY_MAX_CONNECTIONS`).
        public var maxConnections: Int
        public var logLevel: String
        /// Ports treated as opaque unless a workload says otherwise (Linkerd's defaults).
        public var opaquePorts: String
        /// Always skipped by lattice-init inbound (besides the proxy's own ports).
        public var skipInboundPorts: String
        public var skipOutboundPorts: String

        public init(
            image: String = "ghcr.io/lattice-mesh/lattice-proxy:\(LatticeVersion.current)",
            initImage: String = "ghcr.io/lattice-mesh/lattice-proxy:\(LatticeVersion.current)",
            imagePullPolicy: String = "IfNotPresent",
            uid: Int = 2102,
            inboundPort: Int = 4143,
            outboundPort: Int = 4140,
            adminPort: Int = 4191,
            nativeSidecar: NativeSidecar = .auto,
            resources: Resources = .init(cpuRequest: "20m", memoryRequest: "32Mi", memoryLimit: "128Mi"),
            maxConnections: Int = 10_000,
            logLevel: String = "info",
            opaquePorts: String = "25,587,3306,4444,5432,6379,9300,11211",
            skipInboundPorts: String = "",
            skipOutboundPorts: String = ""
        ) {
            self.image = image
            self.initImage = initImage
            self.imagePullPolicy = imagePullPolicy
            self.uid = uid
            self.inboundPort = inboundPort
            self.outboundPort = outboundPort
            self.adminPort = adminPort
            self.nativeSidecar = nativeSidecar
            self.resources = resources
            self.maxConnections = maxConnections
            self.logLevel = logLevel
            self.opaquePorts = opaquePorts
            self.skipInboundPorts = skipInboundPorts
            self.skipOutboundPorts = skipOutboundPorts
        }

        public init(from decoder: any Decoder) throws {
            let d = ProxySettings()
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.image = try c.decodeIfPresent(String.self, forKey: .image) ?? d.image
            self.initImage = try c.decodeIfPresent(String.self, forKey: .initImage) ?? d.initImage
            self.imagePullPolicy = try c.decodeIfPresent(String.self, forKey: .imagePullPolicy) ?? d.imagePullPolicy
            self.uid = try c.decodeIfPresent(Int.self, forKey: .uid) ?? d.uid
            self.inboundPort = try c.decodeIfPresent(Int.self, forKey: .inboundPort) ?? d.inboundPort
            self.outboundPort = try c.decodeIfPresent(Int.self, forKey: .outboundPort) ?? d.outboundPort
            self.adminPort = try c.decodeIfPresent(Int.self, forKey: .adminPort) ?? d.adminPort
            self.nativeSidecar = try c.decodeIfPresent(NativeSidecar.self, forKey: .nativeSidecar) ?? d.nativeSidecar
            self.resources = try c.decodeIfPresent(Resources.self, forKey: .resources) ?? d.resources
            self.maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? d.maxConnections
            self.logLevel = try c.decodeIfPresent(String.self, forKey: .logLevel) ?? d.logLevel
            self.opaquePorts = try c.decodeIfPresent(String.self, forKey: .opaquePorts) ?? d.opaquePorts
            self.skipInboundPorts = try c.decodeIfPresent(String.self, forKey: .skipInboundPorts) ?? d.skipInboundPorts
            self.skipOutboundPorts = try c.decodeIfPresent(String.self, forKey: .skipOutboundPorts) ?? d.skipOutboundPorts
        }
    }

    /// Where proxies find the controller (its one TLS gRPC API serves identity, destination and policy).
    public struct ControllerSettings: Codable, Hashable, Sendable {
        /// The control plane's namespace.
        public var namespace: String
        /// `host:port` of the identity service (and of destination/policy: the same API).
        public var address: String
        /// The identity the controller's certificate must carry (what proxies verify).
        public var identity: String

        public init(
            namespace: String = "lattice",
            address: String = "lattice-controller.lattice.svc.cluster.local:\(WellKnown.identityPort)",
            identity: String = "lattice-controller.lattice.serviceaccount.identity.lattice.cluster.local"
        ) {
            self.namespace = namespace
            self.address = address
            self.identity = identity
        }

        public init(from decoder: any Decoder) throws {
            let d = ControllerSettings()
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.namespace = try c.decodeIfPresent(String.self, forKey: .namespace) ?? d.namespace
            self.address = try c.decodeIfPresent(String.self, forKey: .address) ?? d.address
            self.identity = try c.decodeIfPresent(String.self, forKey: .identity) ?? d.identity
        }
    }

    /// Workloads opted in by configuration rather than by their own annotation.
    public struct InjectionSelection: Codable, Hashable, Sendable {
        /// Namespaces whose every pod is injected (Strategy A, `injectNamespace: true`), unless a pod says `disabled`.
        public var namespaces: [String]
        /// Per-service opt-in (Strategy B): pods matching a service's selector are injected.
        public var services: [ServiceSelector]

        public init(namespaces: [String] = [], services: [ServiceSelector] = []) {
            self.namespaces = namespaces
            self.services = services
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.namespaces = try c.decodeIfPresent([String].self, forKey: .namespaces) ?? []
            self.services = try c.decodeIfPresent([ServiceSelector].self, forKey: .services) ?? []
        }
    }

    /// One opted-in service: pods in `namespace` (any, when nil) whose labels carry every `matchLabels` pair.
    public struct ServiceSelector: Codable, Hashable, Sendable {
        /// The service's name in the values (`global.serviceMesh.inject.<name>`).
        public var name: String
        public var namespace: String?
        /// Default: `app.kubernetes.io/name: <release>-<name>`.
        public var matchLabels: [String: String]

        public init(name: String, namespace: String? = nil, matchLabels: [String: String]) {
            self.name = name
            self.namespace = namespace
            self.matchLabels = matchLabels
        }
    }
}
