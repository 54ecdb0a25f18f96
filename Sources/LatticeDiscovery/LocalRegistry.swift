import LatticeModel
import LatticePolicy
import Yams

/// The local-mode registry: a YAML (or JSON) file describing the workloads and services of a mesh that runs without
/// Kubernetes (`lattice demo`, development, VMs). See docs/discovery.md for the format.
public enum LocalRegistry {
    /// Parses a registry document into a snapshot; the error names the entry and what is wrong with it.
    public static func parse(_ text: String) throws(RegistryError) -> MeshSnapshot {
        let file: RegistryFile
        do {
            file = try YAMLDecoder().decode(RegistryFile.self, from: text)
        } catch let error as DecodingError {
            throw RegistryError(Self.describe(error))
        } catch {
            throw RegistryError("not a registry document: \(error)")
        }
        return try file.snapshot()
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "the document" : String(keys.drop { $0 == "." })
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(path(context)): '\(key.stringValue)' is required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// A registry file that cannot be used; the controller keeps serving its last good one.
public struct RegistryError: Error, Hashable, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { self.reason }
}

struct RegistryFile: Decodable {
    struct Namespace: Decodable {
        var annotations: [String: String]?
    }

    struct Port: Decodable {
        var port: Int
        var name: String?
        var `protocol`: String?
    }

    struct Proxy: Decodable {
        var inbound: Int?
        var admin: Int?
    }

    struct Upstream: Decodable {
        var target: String
        var localPort: Int
    }

    struct Workload: Decodable {
        var name: String
        var namespace: String?
        var serviceAccount: String?
        var addresses: [String]
        var ports: [Port]?
        var labels: [String: String]?
        var annotations: [String: String]?
        var meshed: Bool?
        var proxy: Proxy?
        var probes: [String]?
        var upstreams: [Upstream]?
    }

    struct ServicePort: Decodable {
        var port: Int
        var name: String?
        var targetPort: Int?
        var `protocol`: String?
    }

    struct Service: Decodable {
        var name: String
        var namespace: String?
        var clusterIPs: [String]?
        var ports: [ServicePort]
        var selector: [String: String]?
        var workloads: [String]?
        var annotations: [String: String]?
    }

    var namespaces: [String: Namespace]?
    var workloads: [Workload]?
    var services: [Service]?

    func snapshot() throws(RegistryError) -> MeshSnapshot {
        func port(_ value: Int, _ what: String) throws(RegistryError) -> Int {
            guard (1...65535).contains(value) else { throw RegistryError("\(what): \(value) is not a port (1–65535)") }
            return value
        }
        func address(_ text: String, _ what: String) throws(RegistryError) -> String {
            guard IPAddress(text) != nil else { throw RegistryError("\(what): '\(text)' is not an IP address") }
            return text
        }
        func label(_ text: String, _ what: String) throws(RegistryError) -> String {
            guard DNSName.isLabel(text) else {
                throw RegistryError("\(what): '\(text)' is not a DNS label (lower-case letters, digits and '-')")
            }
            return text
        }
        var workloads: [MeshWorkload] = []
        var seen: Set<String> = []
        var localPorts: [Int: String] = [:]
        for (index, entry) in (self.workloads ?? []).enumerated() {
            let at = "workloads[\(index)] (\(entry.name))"
            let namespace = try label(entry.namespace ?? "default", "\(at).namespace")
            let name = try label(entry.name, "\(at).name")
            guard seen.insert("\(namespace)/\(name)").inserted else {
                throw RegistryError("\(at): \(namespace)/\(name) is listed twice; workload names are unique per namespace")
            }
            guard !entry.addresses.isEmpty else { throw RegistryError("\(at).addresses: a workload needs an address") }
            var ports: [WorkloadPort] = []
            for (i, p) in (entry.ports ?? []).enumerated() {
                ports.append(WorkloadPort(port: try port(p.port, "\(at).ports[\(i)]"), name: p.name, appProtocol: p.protocol))
            }
            var probes: [ProbeSpec] = []
            for text in entry.probes ?? [] {
                guard let colon = text.firstIndex(of: ":"), let p = Int(text[..<colon]), (1...65535).contains(p),
                    text[text.index(after: colon)...].hasPrefix("/")
                else { throw RegistryError("\(at).probes: '\(text)' is not PORT:PATH (e.g. 8080:/healthz)") }
                probes.append(ProbeSpec(port: p, path: String(text[text.index(after: colon)...])))
            }
            var upstreams: [LocalUpstream] = []
            for (i, u) in (entry.upstreams ?? []).enumerated() {
                let local = try port(u.localPort, "\(at).upstreams[\(i)].localPort")
                guard HostPort(parsing: u.target) != nil else {
                    throw RegistryError("\(at).upstreams[\(i)].target: '\(u.target)' is not HOST:PORT (e.g. api.demo.svc.cluster.local:9090)")
                }
                if let other = localPorts[local] {
                    throw RegistryError("\(at).upstreams[\(i)].localPort \(local) is already used by \(other); give each upstream its own port")
                }
                localPorts[local] = "\(namespace)/\(name)"
                upstreams.append(LocalUpstream(target: u.target, localPort: local))
            }
            let serviceAccount = try label(entry.serviceAccount ?? "default", "\(at).serviceAccount")
            workloads.append(
                MeshWorkload(
                    name: name,
                    namespace: namespace,
                    serviceAccount: serviceAccount,
                    addresses: try entry.addresses.map { (a) throws(RegistryError) -> String in try address(a, "\(at).addresses") },
                    ports: ports,
                    labels: entry.labels ?? [:],
                    annotations: entry.annotations ?? [:],
                    isMeshed: entry.meshed ?? true,
                    proxyInboundPort: try entry.proxy?.inbound.map { (p) throws(RegistryError) -> Int in try port(p, "\(at).proxy.inbound") },
                    proxyAdminPort: try entry.proxy?.admin.map { (p) throws(RegistryError) -> Int in try port(p, "\(at).proxy.admin") },
                    probes: probes,
                    upstreams: upstreams
                )
            )
        }
        var services: [MeshService] = []
        for (index, entry) in (self.services ?? []).enumerated() {
            let at = "services[\(index)] (\(entry.name))"
            let namespace = try label(entry.namespace ?? "default", "\(at).namespace")
            let name = try label(entry.name, "\(at).name")
            if entry.selector != nil && entry.workloads != nil {
                throw RegistryError("\(at): both 'selector' and 'workloads' are set; choose one way to name its backends")
            }
            var ports: [ServicePortSpec] = []
            for (i, p) in entry.ports.enumerated() {
                ports.append(
                    ServicePortSpec(
                        port: try port(p.port, "\(at).ports[\(i)].port"),
                        name: p.name,
                        targetPort: try p.targetPort.map { (t) throws(RegistryError) -> Int in try port(t, "\(at).ports[\(i)].targetPort") },
                        appProtocol: p.protocol
                    )
                )
            }
            let backends: [MeshWorkload]
            if let names = entry.workloads {
                backends = try names.map { (n) throws(RegistryError) -> MeshWorkload in
                    guard let w = workloads.first(where: { $0.namespace == namespace && $0.name == n }) else {
                        throw RegistryError("\(at).workloads: no workload \(namespace)/\(n) in this registry")
                    }
                    return w
                }
            } else if let selector = entry.selector, !selector.isEmpty {
                backends = workloads.filter { w in
                    w.namespace == namespace && selector.allSatisfy { w.labels[$0.key] == $0.value }
                }
            } else {
                backends = []
            }
            services.append(
                MeshService(
                    name: name,
                    namespace: namespace,
                    clusterIPs: try (entry.clusterIPs ?? []).map { (a) throws(RegistryError) -> String in try address(a, "\(at).clusterIPs") },
                    ports: ports,
                    endpoints: backends.map { ServiceEndpoint(address: $0.addresses[0], workloadName: $0.name) },
                    annotations: entry.annotations ?? [:]
                )
            )
        }
        var namespaceAnnotations: [String: [String: String]] = [:]
        for (name, namespace) in self.namespaces ?? [:] {
            namespaceAnnotations[try label(name, "namespaces.\(name)")] = namespace.annotations ?? [:]
        }
        return MeshSnapshot(workloads: workloads, services: services, namespaceAnnotations: namespaceAnnotations)
    }
}
