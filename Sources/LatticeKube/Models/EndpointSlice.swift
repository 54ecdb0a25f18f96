/// An EndpointSlice (`discovery.k8s.io/v1`): a slice of a Service's endpoints, the destination API's input.
public struct EndpointSlice: Codable, Sendable, Hashable {
    /// The slice's metadata; the `kubernetes.io/service-name` label names the owning Service.
    public var metadata: ObjectMeta
    /// `IPv4`, `IPv6` or `FQDN`.
    public var addressType: String
    /// The endpoints; the API serves `null` for none, which decodes as empty.
    public var endpoints: [Endpoint]
    /// The ports every endpoint in the slice exposes.
    public var ports: [EndpointPort]?

    /// Creates an EndpointSlice.
    public init(metadata: ObjectMeta, addressType: String, endpoints: [Endpoint] = [], ports: [EndpointPort]? = nil) {
        self.metadata = metadata
        self.addressType = addressType
        self.endpoints = endpoints
        self.ports = ports
    }

    private enum CodingKeys: String, CodingKey {
        case metadata
        case addressType
        case endpoints
        case ports
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.metadata = try container.decode(ObjectMeta.self, forKey: .metadata)
        self.addressType = try container.decode(String.self, forKey: .addressType)
        self.endpoints = try container.decodeIfPresent([Endpoint].self, forKey: .endpoints) ?? []
        self.ports = try container.decodeIfPresent([EndpointPort].self, forKey: .ports)
    }
}

/// One endpoint of an EndpointSlice (`discovery.k8s.io/v1` `Endpoint`).
public struct Endpoint: Codable, Sendable, Hashable {
    /// The endpoint's addresses (all of the slice's address type; usually exactly one).
    public var addresses: [String]
    /// Readiness of the endpoint.
    public var conditions: EndpointConditions?
    /// The object backing the endpoint, usually a Pod.
    public var targetRef: ObjectReference?
    /// The node hosting the endpoint.
    public var nodeName: String?

    /// Creates an endpoint.
    public init(
        addresses: [String],
        conditions: EndpointConditions? = nil,
        targetRef: ObjectReference? = nil,
        nodeName: String? = nil
    ) {
        self.addresses = addresses
        self.conditions = conditions
        self.targetRef = targetRef
        self.nodeName = nodeName
    }
}

/// An endpoint's conditions (`discovery.k8s.io/v1` `EndpointConditions`).
///
/// A missing `ready` means unknown, which consumers should treat as ready.
public struct EndpointConditions: Codable, Sendable, Hashable {
    /// Whether the endpoint is ready to receive new traffic.
    public var ready: Bool?
    /// Whether the endpoint is serving, regardless of termination.
    public var serving: Bool?
    /// Whether the endpoint is terminating.
    public var terminating: Bool?

    /// Creates endpoint conditions.
    public init(ready: Bool? = nil, serving: Bool? = nil, terminating: Bool? = nil) {
        self.ready = ready
        self.serving = serving
        self.terminating = terminating
    }
}

/// A port of an EndpointSlice (`discovery.k8s.io/v1` `EndpointPort`).
public struct EndpointPort: Codable, Sendable, Hashable {
    /// The port's name (matching the Service port's name), if any.
    public var name: String?
    /// The port number; `nil` means all ports.
    public var port: Int?
    /// `TCP` (the default), `UDP` or `SCTP`.
    public var `protocol`: String?
    /// The application protocol hint (`http`, `kubernetes.io/h2c`, …), if any.
    public var appProtocol: String?

    /// Creates an endpoint port.
    public init(name: String? = nil, port: Int? = nil, protocol: String? = nil, appProtocol: String? = nil) {
        self.name = name
        self.port = port
        self.protocol = `protocol`
        self.appProtocol = appProtocol
    }
}
