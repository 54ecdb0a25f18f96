import LatticeModel

/// The destination and policy messages the proxy sends and reads (`Protos/lattice/{destination,policy}/v1`),
/// on the same lean wire code as the identity client. Unknown fields are skipped, so a newer controller's additions
/// never break an older proxy.
enum DiscoveryAPI {
    /// The minor version of the v1 APIs this proxy speaks.
    static let apiVersion: UInt64 = 1

    /// `lattice.destination.v1.GetDestination`.
    static func getDestination(target: String, proxyIdentity: String) -> [UInt8] {
        var out: [UInt8] = []
        ProtobufWire.appendBytesField(1, Array(target.utf8), to: &out)
        ProtobufWire.appendBytesField(2, Array(proxyIdentity.utf8), to: &out)
        ProtobufWire.appendVarintField(3, self.apiVersion, to: &out)
        return out
    }

    /// `lattice.policy.v1.WatchInbound`.
    static func watchInbound(namespace: String, workload: String, proxyIdentity: String) -> [UInt8] {
        var out: [UInt8] = []
        ProtobufWire.appendBytesField(1, Array(namespace.utf8), to: &out)
        ProtobufWire.appendBytesField(2, Array(workload.utf8), to: &out)
        ProtobufWire.appendBytesField(3, Array(proxyIdentity.utf8), to: &out)
        ProtobufWire.appendVarintField(4, self.apiVersion, to: &out)
        return out
    }
}

/// A destination answer as the proxy uses it.
enum DestinationUpdate: Equatable, Sendable {
    case endpoints(authority: String, [DiscoveredEndpoint])
    case notMeshed

    struct DiscoveredEndpoint: Equatable, Sendable {
        var address: HostPort
        var identity: String
        var opaque: Bool
        var http2: Bool
        var transportPort: Int
    }

    /// Decodes `lattice.destination.v1.Update`; an update with neither answer (a newer controller's new kind) is nil.
    static func decode(_ bytes: ArraySlice<UInt8>) throws -> DestinationUpdate? {
        var result: DestinationUpdate?
        try ProtobufWire.forEachField(in: bytes) { field, value in
            switch (field, value) {
            case (3, .bytes):
                result = .notMeshed
            case (2, .bytes(let set)):
                var authority = ""
                var endpoints: [DiscoveredEndpoint] = []
                try ProtobufWire.forEachField(in: set) { f, v in
                    switch (f, v) {
                    case (1, .bytes(let b)): authority = String(decoding: b, as: UTF8.self)
                    case (2, .bytes(let b)): if let endpoint = try Self.endpoint(b) { endpoints.append(endpoint) }
                    default: break
                    }
                }
                result = .endpoints(authority: authority, endpoints)
            default:
                break
            }
        }
        return result
    }

    private static func endpoint(_ bytes: ArraySlice<UInt8>) throws -> DiscoveredEndpoint? {
        var address = ""
        var identity = ""
        var opaque = false
        var http2 = false
        var transportPort = 0
        try ProtobufWire.forEachField(in: bytes) { field, value in
            switch (field, value) {
            case (1, .bytes(let b)): address = String(decoding: b, as: UTF8.self)
            case (2, .bytes(let b)): identity = String(decoding: b, as: UTF8.self)
            case (3, .bytes(let hint)):
                try ProtobufWire.forEachField(in: hint) { f, v in
                    switch (f, v) {
                    case (1, .varint(let x)): opaque = x != 0
                    case (2, .varint(let x)): http2 = x != 0
                    case (3, .varint(let x)): transportPort = Int(truncatingIfNeeded: x)
                    default: break
                    }
                }
            default: break
            }
        }
        // An endpoint the proxy cannot dial is left out rather than failing the whole answer.
        guard let hostPort = HostPort(parsing: address), (1...65535).contains(hostPort.port),
            (0...65535).contains(transportPort)
        else { return nil }
        return DiscoveredEndpoint(address: hostPort, identity: identity, opaque: opaque, http2: http2, transportPort: transportPort)
    }
}

/// A policy answer as the proxy uses it (`lattice.policy.v1.InboundPolicy`).
struct PolicyUpdate: Equatable, Sendable {
    var known = false
    var defaultPolicy = ""
    var ports: [(port: Int, policy: String, opaque: Bool)] = []
    var opaquePorts: [Int] = []
    var skipInboundPorts: [Int] = []
    var clusterNetworks: [String] = []
    var probes: [(port: Int, path: String)] = []
    var problems: [String] = []

    static func == (a: PolicyUpdate, b: PolicyUpdate) -> Bool {
        a.known == b.known && a.defaultPolicy == b.defaultPolicy
            && a.ports.map { "\($0.port)=\($0.policy)/\($0.opaque)" } == b.ports.map { "\($0.port)=\($0.policy)/\($0.opaque)" }
            && a.opaquePorts == b.opaquePorts && a.skipInboundPorts == b.skipInboundPorts
            && a.clusterNetworks == b.clusterNetworks && a.probes.map { "\($0.port)\($0.path)" } == b.probes.map { "\($0.port)\($0.path)" }
            && a.problems == b.problems
    }

    init() {}

    init(decoding bytes: ArraySlice<UInt8>) throws {
        try ProtobufWire.forEachField(in: bytes) { field, value in
            switch (field, value) {
            case (2, .varint(let x)): self.known = x != 0
            case (3, .bytes(let b)): self.defaultPolicy = String(decoding: b, as: UTF8.self)
            case (4, .bytes(let b)):
                var port = 0
                var policy = ""
                var opaque = false
                try ProtobufWire.forEachField(in: b) { f, v in
                    switch (f, v) {
                    case (1, .varint(let x)): port = Int(truncatingIfNeeded: x)
                    case (2, .bytes(let s)): policy = String(decoding: s, as: UTF8.self)
                    case (3, .varint(let x)): opaque = x != 0
                    default: break
                    }
                }
                self.ports.append((port, policy, opaque))
            case (5, _): self.opaquePorts += try ProtobufWire.repeatedVarints(value).map { Int(truncatingIfNeeded: $0) }
            case (6, _): self.skipInboundPorts += try ProtobufWire.repeatedVarints(value).map { Int(truncatingIfNeeded: $0) }
            case (7, .bytes(let b)): self.clusterNetworks.append(String(decoding: b, as: UTF8.self))
            case (8, .bytes(let b)):
                var port = 0
                var path = ""
                try ProtobufWire.forEachField(in: b) { f, v in
                    switch (f, v) {
                    case (1, .varint(let x)): port = Int(truncatingIfNeeded: x)
                    case (2, .bytes(let s)): path = String(decoding: s, as: UTF8.self)
                    default: break
                    }
                }
                self.probes.append((port, path))
            case (9, .bytes(let b)): self.problems.append(String(decoding: b, as: UTF8.self))
            default: break
            }
        }
    }
}
