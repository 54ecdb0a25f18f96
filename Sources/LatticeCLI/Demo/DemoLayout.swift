import Foundation

/// What `lattice demo` started, written to `DIR/demo.json` so anyone can poke at the running mesh (and `lattice stat`
/// can find it).
struct DemoManifest: Codable, Sendable {
    struct Controller: Codable, Sendable {
        var pid: Int32
        /// The gRPC API (identity, destination, policy) over TLS.
        var api: String
        var admin: String
        var identity: String
        var log: String
    }

    struct Proxy: Codable, Sendable {
        var pid: Int32
        var inbound: String
        var admin: String
        /// Upstream name → the local outbound address the workload calls it on.
        var outbound: [String: String]
        var log: String
    }

    struct App: Codable, Sendable {
        var pid: Int32
        var address: String
        var log: String
    }

    struct Workload: Codable, Sendable {
        var name: String
        var namespace: String
        var identity: String
        var meshed: Bool
        var app: App?
        var proxy: Proxy?
    }

    var state: String
    var trustAnchors: String
    var issuerCertificate: String
    var registry: String
    var controller: Controller
    var workloads: [Workload]

    static func read(stateDirectory: String) throws -> DemoManifest {
        let path = (stateDirectory as NSString).appendingPathComponent("demo.json")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("\(path) not found: start the demo with `lattice demo` (or give --state DIR of a running one)")
        }
        do {
            return try JSONDecoder().decode(DemoManifest.self, from: data)
        } catch {
            throw CLIError("\(path) is not a demo manifest: \(error)")
        }
    }

    func write() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = (self.state as NSString).appendingPathComponent("demo.json")
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// The demo mesh's shape: its workloads, their ports and the registry the controller serves from.
struct DemoLayout: Sendable {
    static let namespace = "demo"
    static let domainSuffix = "serviceaccount.identity.lattice.cluster.local"

    struct Workload: Sendable {
        var name: String
        var appPort: Int?
        var proxyInbound: Int
        var proxyAdmin: Int
        /// (service, service port, local outbound port)
        var upstreams: [(service: String, port: Int, local: Int)]
        var identity: String { "\(self.name).\(DemoLayout.namespace).\(DemoLayout.domainSuffix)" }
    }

    var traffic: Workload
    var web: Workload
    var api: Workload
    var store: Workload
    var all: [Workload] { [self.traffic, self.web, self.api, self.store] }

    static let webServicePort = 80
    static let apiServicePort = 9090
    static let storeServicePort = 7000

    /// Picks free loopback ports for everything.
    static func allocate() throws -> DemoLayout {
        var ports = try FreePorts.take(15)
        func next() -> Int { ports.removeFirst() }
        let store = Workload(name: "store", appPort: next(), proxyInbound: next(), proxyAdmin: next(), upstreams: [])
        let api = Workload(name: "api", appPort: next(), proxyInbound: next(), proxyAdmin: next(), upstreams: [("store", storeServicePort, next())])
        let web = Workload(name: "web", appPort: next(), proxyInbound: next(), proxyAdmin: next(), upstreams: [("api", apiServicePort, next())])
        let traffic = Workload(name: "traffic", appPort: nil, proxyInbound: next(), proxyAdmin: next(), upstreams: [("web", webServicePort, next())])
        return DemoLayout(traffic: traffic, web: web, api: api, store: store)
    }

    /// The registry: namespace `demo` under `audit` (the runbook's alias spelling), api optionally overridden.
    func registry(apiPolicy: String?) -> String {
        var out = """
            # Written by `lattice demo`: the local registry the controller serves destination and policy from.
            namespaces:
              \(Self.namespace):
                annotations:
                  config.linkerd.io/default-inbound-policy: audit
            workloads:

            """
        for w in self.all {
            out += "  - name: \(w.name)\n    namespace: \(Self.namespace)\n    serviceAccount: \(w.name)\n"
            out += "    addresses: [127.0.0.1]\n    labels: {app: \(w.name)}\n"
            out += "    proxy: {inbound: \(w.proxyInbound), admin: \(w.proxyAdmin)}\n"
            if let port = w.appPort { out += "    ports: [{port: \(port), name: main}]\n" }
            if w.name == "web", let port = w.appPort { out += "    probes: [\"\(port):/healthz\"]\n" }
            var annotations: [String] = []
            if w.name == "store", let port = w.appPort { annotations.append("config.lattice.io/opaque-ports: \"\(port)\"") }
            if w.name == "api", let policy = apiPolicy { annotations.append("config.lattice.io/default-inbound-policy: \(policy)") }
            if !annotations.isEmpty {
                out += "    annotations:\n" + annotations.map { "      \($0)\n" }.joined()
            }
            if !w.upstreams.isEmpty {
                out += "    upstreams:\n"
                for u in w.upstreams {
                    out += "      - {target: \"\(u.service).\(Self.namespace).svc.cluster.local:\(u.port)\", localPort: \(u.local)}\n"
                }
            }
        }
        out += "services:\n"
        for (w, port) in [(self.web, Self.webServicePort), (self.api, Self.apiServicePort), (self.store, Self.storeServicePort)] {
            out += "  - name: \(w.name)\n    namespace: \(Self.namespace)\n"
            out += "    ports: [{port: \(port), targetPort: \(w.appPort!)}]\n    selector: {app: \(w.name)}\n"
        }
        return out
    }
}

/// Free loopback ports, found by binding port 0 (all held until every one is found, so they differ).
enum FreePorts {
    static func take(_ count: Int) throws -> [Int] {
        var sockets: [Int32] = []
        defer { for s in sockets { close(s) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard s >= 0 else { throw CLIError("cannot open a socket to find free ports") }
            sockets.append(s)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { throw CLIError("cannot bind a loopback port to find free ports") }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &length) }
            }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }
}
