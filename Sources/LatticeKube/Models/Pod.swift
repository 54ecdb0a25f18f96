/// A Pod (`core/v1`), reduced to what the mesh reads: who it runs as, its containers and ports, and its addresses.
public struct Pod: Codable, Sendable, Hashable {
    /// The Pod's metadata.
    public var metadata: ObjectMeta
    /// The Pod's desired state.
    public var spec: PodSpec?
    /// The Pod's observed state.
    public var status: PodStatus?

    /// Creates a Pod.
    public init(metadata: ObjectMeta, spec: PodSpec? = nil, status: PodStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// A Pod's spec (`core/v1` `PodSpec`).
public struct PodSpec: Codable, Sendable, Hashable {
    /// The ServiceAccount the Pod runs as: its mesh identity. The API fills in `default` when omitted.
    public var serviceAccountName: String?
    /// The main containers.
    public var containers: [Container]
    /// The init containers; those with `restartPolicy: Always` are native sidecars.
    public var initContainers: [Container]?
    /// Whether the Pod shares the node's network namespace (such Pods cannot be meshed).
    public var hostNetwork: Bool?

    /// Creates a Pod spec.
    public init(
        serviceAccountName: String? = nil,
        containers: [Container] = [],
        initContainers: [Container]? = nil,
        hostNetwork: Bool? = nil
    ) {
        self.serviceAccountName = serviceAccountName
        self.containers = containers
        self.initContainers = initContainers
        self.hostNetwork = hostNetwork
    }

    private enum CodingKeys: String, CodingKey {
        case serviceAccountName
        case containers
        case initContainers
        case hostNetwork
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.serviceAccountName = try container.decodeIfPresent(String.self, forKey: .serviceAccountName)
        self.containers = try container.decodeIfPresent([Container].self, forKey: .containers) ?? []
        self.initContainers = try container.decodeIfPresent([Container].self, forKey: .initContainers)
        self.hostNetwork = try container.decodeIfPresent(Bool.self, forKey: .hostNetwork)
    }
}

/// A container in a Pod spec (`core/v1` `Container`), reduced to its name, ports, restart policy and probes.
public struct Container: Codable, Sendable, Hashable {
    /// The container's name, unique within the Pod.
    public var name: String
    /// The ports the container declares.
    public var ports: [ContainerPort]?
    /// `Always` on an init container makes it a native sidecar (Kubernetes 1.29+).
    public var restartPolicy: String?
    /// The kubelet's liveness check, if any.
    public var livenessProbe: Probe?
    /// The kubelet's readiness check, if any.
    public var readinessProbe: Probe?
    /// The kubelet's startup check, if any.
    public var startupProbe: Probe?

    /// Creates a container.
    public init(
        name: String,
        ports: [ContainerPort]? = nil,
        restartPolicy: String? = nil,
        livenessProbe: Probe? = nil,
        readinessProbe: Probe? = nil,
        startupProbe: Probe? = nil
    ) {
        self.name = name
        self.ports = ports
        self.restartPolicy = restartPolicy
        self.livenessProbe = livenessProbe
        self.readinessProbe = readinessProbe
        self.startupProbe = startupProbe
    }
}

/// A container probe (`core/v1` `Probe`), reduced to its HTTP check: the mesh lets the kubelet's probes through.
public struct Probe: Codable, Sendable, Hashable {
    /// The HTTP GET the kubelet sends, when the probe is an HTTP one (not exec, TCP or gRPC).
    public var httpGet: HTTPGetAction?

    /// Creates a probe.
    public init(httpGet: HTTPGetAction? = nil) {
        self.httpGet = httpGet
    }
}

/// An HTTP probe's request (`core/v1` `HTTPGetAction`).
public struct HTTPGetAction: Codable, Sendable, Hashable {
    /// The path; the API leaves it out for `/`.
    public var path: String?
    /// The port: a number or the name of a container port.
    public var port: IntOrString
    /// `HTTP` (the default) or `HTTPS`.
    public var scheme: String?

    /// Creates an HTTP GET action.
    public init(path: String? = nil, port: IntOrString, scheme: String? = nil) {
        self.path = path
        self.port = port
        self.scheme = scheme
    }
}

/// A port a container declares (`core/v1` `ContainerPort`).
public struct ContainerPort: Codable, Sendable, Hashable {
    /// The port's name, if any (referenced by Services' named target ports).
    public var name: String?
    /// The port number in the Pod's network namespace.
    public var containerPort: Int
    /// `TCP` (the default), `UDP` or `SCTP`.
    public var `protocol`: String?

    /// Creates a container port.
    public init(name: String? = nil, containerPort: Int, protocol: String? = nil) {
        self.name = name
        self.containerPort = containerPort
        self.protocol = `protocol`
    }
}

/// A Pod's observed state (`core/v1` `PodStatus`).
public struct PodStatus: Codable, Sendable, Hashable {
    /// `Pending`, `Running`, `Succeeded`, `Failed` or `Unknown`.
    public var phase: String?
    /// The Pod's primary IP address, once assigned.
    public var podIP: String?
    /// All the Pod's IP addresses (one per family on dual-stack clusters).
    public var podIPs: [PodIP]?
    /// The Pod's conditions (`Ready`, `ContainersReady`, `PodScheduled`, …).
    public var conditions: [PodCondition]?

    /// Creates a Pod status.
    public init(phase: String? = nil, podIP: String? = nil, podIPs: [PodIP]? = nil, conditions: [PodCondition]? = nil) {
        self.phase = phase
        self.podIP = podIP
        self.podIPs = podIPs
        self.conditions = conditions
    }

    /// Whether the `Ready` condition is `True`.
    public var isReadyConditionTrue: Bool {
        self.conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false
    }
}

/// One of a Pod's conditions (`core/v1` `PodCondition`).
public struct PodCondition: Codable, Sendable, Hashable {
    /// `Ready`, `ContainersReady`, `Initialized`, `PodScheduled`, …
    public var type: String
    /// `True`, `False` or `Unknown`.
    public var status: String

    /// Creates a Pod condition.
    public init(type: String, status: String) {
        self.type = type
        self.status = status
    }
}

/// One of a Pod's IP addresses (`core/v1` `PodIP`).
public struct PodIP: Codable, Sendable, Hashable {
    /// The address.
    public var ip: String

    /// Creates a Pod IP.
    public init(ip: String) {
        self.ip = ip
    }
}
