/// A Service (`core/v1`), reduced to its cluster IPs and ports.
///
/// Named `KubernetesService` so it does not clash with ServiceLifecycle's `Service` in modules importing both.
public struct KubernetesService: Codable, Sendable, Hashable {
    /// The Service's metadata.
    public var metadata: ObjectMeta
    /// The Service's desired state.
    public var spec: ServiceSpec?

    /// Creates a Service.
    public init(metadata: ObjectMeta, spec: ServiceSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// A Service's spec (`core/v1` `ServiceSpec`).
public struct ServiceSpec: Codable, Sendable, Hashable {
    /// `ClusterIP`, `NodePort`, `LoadBalancer` or `ExternalName`.
    public var type: String?
    /// The primary cluster IP, or `None` for a headless Service.
    public var clusterIP: String?
    /// All cluster IPs (one per family on dual-stack clusters).
    public var clusterIPs: [String]?
    /// The Service's ports.
    public var ports: [ServicePort]?
    /// The label selector choosing the backing Pods.
    public var selector: [String: String]?

    /// Creates a Service spec.
    public init(
        type: String? = nil,
        clusterIP: String? = nil,
        clusterIPs: [String]? = nil,
        ports: [ServicePort]? = nil,
        selector: [String: String]? = nil
    ) {
        self.type = type
        self.clusterIP = clusterIP
        self.clusterIPs = clusterIPs
        self.ports = ports
        self.selector = selector
    }
}

/// A Service port (`core/v1` `ServicePort`).
public struct ServicePort: Codable, Sendable, Hashable {
    /// The port's name; required when the Service has more than one port.
    public var name: String?
    /// The port clients connect to.
    public var port: Int
    /// The Pod port traffic goes to: a number or a container port's name.
    public var targetPort: IntOrString?
    /// `TCP` (the default), `UDP` or `SCTP`.
    public var `protocol`: String?
    /// The application protocol hint, if any.
    public var appProtocol: String?

    /// Creates a Service port.
    public init(
        name: String? = nil,
        port: Int,
        targetPort: IntOrString? = nil,
        protocol: String? = nil,
        appProtocol: String? = nil
    ) {
        self.name = name
        self.port = port
        self.targetPort = targetPort
        self.protocol = `protocol`
        self.appProtocol = appProtocol
    }
}

/// A value the API serves as either a number or a string (`intstr.IntOrString`), such as a Service's `targetPort`.
public enum IntOrString: Codable, Sendable, Hashable {
    /// A number.
    case int(Int)
    /// A string (for a target port: a container port's name).
    case string(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        }
    }
}
