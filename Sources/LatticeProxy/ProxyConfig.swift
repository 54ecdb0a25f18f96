import LatticeModel
import LatticePolicy

/// The proxy's settings, read from `LATTICE_PROXY_*` environment variables (what the injector sets).
///
/// Every variable is named in ``Key``; a bad value is an error that names the variable, the value and the fix.
public struct ProxyConfig: Sendable {
    public enum Key: String, CaseIterable, Sendable {
        case identityName = "LATTICE_PROXY_IDENTITY_NAME"
        case identityTokenFile = "LATTICE_PROXY_IDENTITY_TOKEN_FILE"
        case trustAnchors = "LATTICE_PROXY_IDENTITY_TRUST_ANCHORS"
        case identityServiceAddress = "LATTICE_PROXY_IDENTITY_SVC_ADDR"
        case identityServiceName = "LATTICE_PROXY_IDENTITY_SVC_NAME"
        case inboundListenAddress = "LATTICE_PROXY_INBOUND_LISTEN_ADDR"
        case outboundListenAddress = "LATTICE_PROXY_OUTBOUND_LISTEN_ADDR"
        case adminListenAddress = "LATTICE_PROXY_ADMIN_LISTEN_ADDR"
        case outboundUpstreams = "LATTICE_PROXY_OUTBOUND_UPSTREAMS"
        case inboundAppHost = "LATTICE_PROXY_INBOUND_APP_HOST"
        case inboundDefaultPort = "LATTICE_PROXY_INBOUND_DEFAULT_PORT"
        case defaultInboundPolicy = "LATTICE_PROXY_DEFAULT_INBOUND_POLICY"
        case clusterNetworks = "LATTICE_PROXY_CLUSTER_NETWORKS"
        case detectTimeout = "LATTICE_PROXY_DETECT_TIMEOUT"
        case connectTimeout = "LATTICE_PROXY_CONNECT_TIMEOUT"
        case readyTimeout = "LATTICE_PROXY_HOLD_UNTIL_READY_TIMEOUT"
        case shutdownGrace = "LATTICE_PROXY_SHUTDOWN_GRACE_PERIOD"
        case outboundShutdownWait = "LATTICE_PROXY_OUTBOUND_SHUTDOWN_WAIT"
        case maxConnections = "LATTICE_PROXY_MAX_CONNECTIONS"
        case opaquePorts = "LATTICE_PROXY_OPAQUE_PORTS"
        case inboundProbes = "LATTICE_PROXY_INBOUND_PROBES"
        case probeNetworks = "LATTICE_PROXY_PROBE_NETWORKS"
        case maxIdleConnectionsPerEndpoint = "LATTICE_PROXY_MAX_IDLE_CONNS_PER_ENDPOINT"
        case idleTimeout = "LATTICE_PROXY_IDLE_TIMEOUT"
        case headerReadTimeout = "LATTICE_PROXY_HEADER_READ_TIMEOUT"
        case logLevel = "LATTICE_PROXY_LOG_LEVEL"
        case destinationServiceAddress = "LATTICE_PROXY_DESTINATION_SVC_ADDR"
        case destinationServiceName = "LATTICE_PROXY_DESTINATION_SVC_NAME"
        case workload = "LATTICE_PROXY_WORKLOAD"
        case transparent = "LATTICE_PROXY_TRANSPARENT"
        case discoveryTimeout = "LATTICE_PROXY_DISCOVERY_TIMEOUT"
        case destinationIdleTimeout = "LATTICE_PROXY_DESTINATION_IDLE_TIMEOUT"
        case releaseStartupPages = "LATTICE_PROXY_RELEASE_STARTUP_PAGES"
        case returnFreedMemory = "LATTICE_PROXY_RETURN_FREED_MEMORY"
        case idleReleaseAfter = "LATTICE_PROXY_IDLE_RELEASE_AFTER"
    }

    public var identity: WorkloadIdentity
    public var tokenFile: String
    public var trustAnchorsFile: String
    public var identityService: HostPort
    public var identityServiceName: String
    public var inbound: HostPort
    public var outbound: HostPort
    public var admin: HostPort
    public var upstreams: [Upstream]
    public var inboundAppHost: String
    public var inboundDefaultPort: Int?
    public var policy: InboundPolicy
    public var detectTimeout: Duration
    public var connectTimeout: Duration
    public var readyTimeout: Duration
    public var shutdownGrace: Duration
    /// After SIGTERM, how long outbound listeners keep accepting the app's new calls (the app is often finishing its
    /// own work), while inbound has already stopped.
    public var outboundShutdownWait: Duration
    public var maxConnections: Int
    public var logLevel: String
    /// Ports where the server speaks first or HTTP never flows: no protocol detection, always opaque TCP.
    public var opaquePorts: Set<Int>
    /// The pod's own health probes: (port, path) pairs that stay open to plaintext under every policy.
    public var probes: Set<ProbeRoute>
    /// Where probes may come from (the kubelet's address is the node's).
    public var probeNetworks: [IPNetwork]
    /// Idle HTTP/1 connections kept per upstream endpoint for reuse.
    public var maxIdlePerEndpoint: Int
    /// How long an unused pooled upstream connection is kept.
    public var idleTimeout: Duration
    /// How long an HTTP/1 client may take to send a request's headers once it has started.
    public var headerReadTimeout: Duration
    /// The controller's destination and policy API (defaults to the identity service's address and name).
    public var destinationService: HostPort
    public var destinationServiceName: String
    /// Transparent mode (lattice-init's rules in place): the outbound listener takes each connection's original
    /// destination and asks destination about it; inbound connections without a transport header go to the port
    /// they were sent to.
    public var transparent: Bool
    /// How long a connection to a destination never seen before waits for destination's first answer.
    public var discoveryTimeout: Duration
    /// A transparent destination nobody has dialled for this long, with no connection open to it, stops being
    /// watched (its stream to the controller closes); dialled again, it is asked about afresh.
    public var destinationIdleTimeout: Duration
    /// Once ready, give back the code pages only start-up used (``StartupPageRelease``).
    public var releaseStartupPages: Bool
    /// After a burst of connections, give the heap it freed back to the kernel (``FreedMemoryReturn``).
    public var returnFreedMemory: Bool
    /// Idle this long (no new connection, no request), give code pages and free heap back (``IdleMemoryRelease``);
    /// zero: never.
    public var idleReleaseAfter: Duration
    /// `NAMESPACE/NAME` of this workload, whose inbound policy the proxy watches; nil: the starting policy stands.
    public var workload: (namespace: String, name: String)?

    /// Linkerd's default opaque ports: SMTP, MySQL, Galera, PostgreSQL, Redis, Elasticsearch, Memcached.
    public static let defaultOpaquePorts: Set<Int> = [25, 587, 3306, 4444, 5432, 6379, 9300, 11211]

    /// Reads the configuration from `environment`.
    public init(environment: [String: String]) throws(ProxyConfigError) {
        func value(_ key: Key) -> String? {
            guard let v = environment[key.rawValue], !v.isEmpty else { return nil }
            return v
        }
        func required(_ key: Key, _ what: String) throws(ProxyConfigError) -> String {
            guard let v = value(key) else { throw ProxyConfigError(key, "is not set: it must name \(what)") }
            return v
        }
        func networkList(_ key: Key, default fallback: [IPNetwork]) throws(ProxyConfigError) -> [IPNetwork] {
            guard let text = value(key) else { return fallback }
            do {
                return try IPNetwork.parseList(text)
            } catch {
                throw ProxyConfigError(key, error.reason)
            }
        }
        func count(_ key: Key, minimum: Int, default fallback: Int) throws(ProxyConfigError) -> Int {
            guard let text = value(key) else { return fallback }
            guard let count = Int(text), count >= minimum else {
                throw ProxyConfigError(key, "'\(text)' is not a whole number of at least \(minimum)")
            }
            return count
        }
        func duration(_ key: Key, default fallback: Duration) throws(ProxyConfigError) -> Duration {
            guard let text = value(key) else { return fallback }
            guard let d = DurationText.parse(text) else {
                throw ProxyConfigError(key, "'\(text)' is not a duration (e.g. 500ms, 10s, 1m)")
            }
            return d
        }
        let domain = IdentityDomain.default
        let name = try required(.identityName, "this workload's identity")
        do {
            // The name's own domain decides: parse against a domain that matches its suffix.
            self.identity = try WorkloadIdentity.parse(name, domain: Self.domain(of: name) ?? domain)
        } catch {
            throw ProxyConfigError(.identityName, error.reason)
        }
        self.tokenFile = try required(.identityTokenFile, "the workload token file")
        self.trustAnchorsFile = try required(.trustAnchors, "the trust anchors bundle (PEM)")
        self.identityService = try HostPort.parse(try required(.identityServiceAddress, "the identity service HOST:PORT"), key: .identityServiceAddress)
        self.identityServiceName = value(.identityServiceName) ?? self.identity.domain.controllerIdentity.name
        self.inbound = try HostPort.parse(value(.inboundListenAddress) ?? "0.0.0.0:4143", key: .inboundListenAddress)
        self.outbound = try HostPort.parse(value(.outboundListenAddress) ?? "127.0.0.1:4140", key: .outboundListenAddress)
        self.admin = try HostPort.parse(value(.adminListenAddress) ?? "0.0.0.0:4191", key: .adminListenAddress)
        self.upstreams = try Upstream.parseList(value(.outboundUpstreams) ?? "")
        self.inboundAppHost = value(.inboundAppHost) ?? "127.0.0.1"
        if let port = value(.inboundDefaultPort) {
            guard let p = Int(port), (1...65535).contains(p) else {
                throw ProxyConfigError(.inboundDefaultPort, "'\(port)' is not a port (1–65535)")
            }
            self.inboundDefaultPort = p
        }
        let policy: DefaultInboundPolicy
        do {
            policy = try DefaultInboundPolicy.parse(value(.defaultInboundPolicy) ?? "all-unauthenticated")
        } catch {
            throw ProxyConfigError(.defaultInboundPolicy, error.reason)
        }
        let networks = try networkList(.clusterNetworks, default: IPNetwork.linkerdDefaults)
        self.policy = InboundPolicy(defaultPolicy: policy, clusterNetworks: networks)
        self.detectTimeout = try duration(.detectTimeout, default: .seconds(1))
        self.connectTimeout = try duration(.connectTimeout, default: .seconds(1))
        self.readyTimeout = try duration(.readyTimeout, default: .seconds(10))
        self.shutdownGrace = try duration(.shutdownGrace, default: .seconds(5))
        self.outboundShutdownWait = try duration(.outboundShutdownWait, default: .zero)
        self.logLevel = value(.logLevel) ?? "info"
        self.maxConnections = try count(.maxConnections, minimum: 1, default: 10_000)
        self.opaquePorts = Self.defaultOpaquePorts
        if let text = environment[Key.opaquePorts.rawValue] {
            self.opaquePorts = try Self.parsePorts(text, key: .opaquePorts)
        }
        self.probes = try ProbeRoute.parseList(value(.inboundProbes) ?? "")
        self.probeNetworks = try networkList(.probeNetworks, default: IPNetwork.everywhere)
        self.maxIdlePerEndpoint = try count(.maxIdleConnectionsPerEndpoint, minimum: 0, default: 256)
        self.idleTimeout = try duration(.idleTimeout, default: .seconds(60))
        self.headerReadTimeout = try duration(.headerReadTimeout, default: .seconds(10))
        self.destinationService = try value(.destinationServiceAddress).map { (text) throws(ProxyConfigError) -> HostPort in
            try HostPort.parse(text, key: .destinationServiceAddress)
        } ?? self.identityService
        self.destinationServiceName = value(.destinationServiceName) ?? self.identityServiceName
        switch value(.transparent)?.lowercased() {
        case nil, "false", "0", "no": self.transparent = false
        case "true", "1", "yes": self.transparent = true
        case let other?: throw ProxyConfigError(.transparent, "'\(other)' is not true or false")
        }
        self.discoveryTimeout = try duration(.discoveryTimeout, default: .seconds(2))
        self.destinationIdleTimeout = try duration(.destinationIdleTimeout, default: .seconds(600))
        switch value(.releaseStartupPages)?.lowercased() {
        case nil, "true", "1", "yes": self.releaseStartupPages = true
        case "false", "0", "no": self.releaseStartupPages = false
        case let other?: throw ProxyConfigError(.releaseStartupPages, "'\(other)' is not true or false")
        }
        self.idleReleaseAfter = try duration(.idleReleaseAfter, default: .seconds(30))
        switch value(.returnFreedMemory)?.lowercased() {
        case nil, "true", "1", "yes": self.returnFreedMemory = true
        case "false", "0", "no": self.returnFreedMemory = false
        case let other?: throw ProxyConfigError(.returnFreedMemory, "'\(other)' is not true or false")
        }
        if let text = value(.workload) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, DNSName.isLabel(parts[0]), !parts[1].isEmpty else {
                throw ProxyConfigError(.workload, "'\(text)' is not NAMESPACE/NAME (e.g. demo/web)")
            }
            self.workload = (String(parts[0]), String(parts[1]))
        }
    }

    /// A comma-separated list of ports and port ranges (`25,587,8000-8010`); empty means none.
    static func parsePorts(_ text: String, key: Key) throws(ProxyConfigError) -> Set<Int> {
        switch PortRanges.parse(text) {
        case .success(let ranges): return Set(ranges.joined())
        case .failure(let error): throw ProxyConfigError(key, error.description)
        }
    }

    /// The identity domain a name belongs to (`…serviceaccount.identity.<ns>.<trust-domain>`).
    static func domain(of name: String) -> IdentityDomain? {
        guard let range = name.firstRange(of: ".serviceaccount.identity.") else { return nil }
        let rest = name[range.upperBound...]
        guard let dot = rest.firstIndex(of: ".") else { return nil }
        return try? IdentityDomain(
            controlPlaneNamespace: String(rest[..<dot]),
            trustDomain: String(rest[rest.index(after: dot)...])
        )
    }
}

/// A configuration value that cannot be used.
public struct ProxyConfigError: Error, CustomStringConvertible, Sendable {
    public let key: ProxyConfig.Key
    public let reason: String
    init(_ key: ProxyConfig.Key, _ reason: String) {
        self.key = key
        self.reason = reason
    }
    public var description: String { "\(self.key.rawValue) \(self.reason)" }
}

extension HostPort {
    /// Parses `HOST:PORT` from a configuration value, with an error naming the variable.
    static func parse(_ text: String, key: ProxyConfig.Key) throws(ProxyConfigError) -> HostPort {
        guard let address = HostPort(parsing: text) else { throw ProxyConfigError(key, "'\(text)' is not HOST:PORT") }
        return address
    }
}

/// One endpoint behind an upstream: a meshed workload reached through its proxy, or a plain address.
public enum Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// Dial the peer's proxy with mTLS demanding `identity`, naming `appPort` in the transport header.
    case meshed(identity: String, proxy: HostPort, appPort: Int)
    /// Forward without mTLS (counted as `tls="no_identity"`).
    case plain(HostPort)

    /// The port of the app the connection is for (what decides opaque ports).
    public var appPort: Int {
        switch self {
        case .meshed(_, _, let port): port
        case .plain(let address): address.port
        }
    }

    public var description: String {
        switch self {
        case .meshed(let identity, let proxy, let port): "\(identity)@\(proxy)/\(port)"
        case .plain(let address): address.description
        }
    }
}

/// A local-mode upstream: an outbound listener and the endpoints its connections and requests go to.
///
/// `LISTEN=ENDPOINT[|ENDPOINT…][;authority=NAME]`, where an ENDPOINT is `IDENTITY@PROXY_HOST:PROXY_PORT/APP_PORT`
/// (meshed: mTLS to the peer's proxy demanding IDENTITY, APP_PORT in the transport header) or `HOST:PORT` (plain,
/// counted as `tls="no_identity"`). Endpoints of one upstream are all meshed or all plain. HTTP requests are balanced
/// across them per request, TCP connections per connection. NAME is the `authority` label of the upstream's HTTP
/// metrics (a service name, e.g. `api.default.svc.cluster.local:8080`).
public struct Upstream: Hashable, Sendable {
    public var listen: HostPort
    public var endpoints: [Endpoint]
    public var authority: String
    /// The `no_tls_reason` of plain endpoints.
    public var plainReason: String = "not_provided_by_service_discovery"
    /// Discovery's protocol hint: every endpoint's port is opaque (nil: decide by the configured opaque ports).
    public var opaqueHint: Bool? = nil
    /// Set instead of endpoints when destination resolves the upstream (`LISTEN=discover:TARGET`).
    public var discoveryTarget: HostPort? = nil

    /// True when the upstream's connections go over mesh mTLS.
    public var isMeshed: Bool {
        if case .meshed = self.endpoints.first { return true }
        return false
    }

    static func parseList(_ text: String) throws(ProxyConfigError) -> [Upstream] {
        var out: [Upstream] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else {
                throw ProxyConfigError(
                    .outboundUpstreams, "'\(item)' is not LISTEN=ENDPOINT[|ENDPOINT…][;authority=NAME] or LISTEN=discover:HOST:PORT"
                )
            }
            let listen = try HostPort.parse(String(parts[0]), key: .outboundUpstreams)
            if parts[1].hasPrefix("discover:") {
                let target = try HostPort.parse(String(parts[1].dropFirst("discover:".count)), key: .outboundUpstreams)
                out.append(Upstream(listen: listen, endpoints: [], authority: target.description, discoveryTarget: target))
                continue
            }
            var target = Substring(parts[1])
            var authority = ""
            if let semicolon = target.firstIndex(of: ";") {
                let option = target[target.index(after: semicolon)...]
                guard option.hasPrefix("authority="), option.count > "authority=".count else {
                    throw ProxyConfigError(.outboundUpstreams, "'\(option)' is not authority=NAME")
                }
                authority = String(option.dropFirst("authority=".count))
                target = target[..<semicolon]
            }
            let endpoints = try target.split(separator: "|").map { (text) throws(ProxyConfigError) -> Endpoint in
                try Self.parseEndpoint(String(text))
            }
            guard !endpoints.isEmpty else {
                throw ProxyConfigError(.outboundUpstreams, "'\(item)' names no endpoint")
            }
            let meshed = endpoints.filter { if case .meshed = $0 { true } else { false } }.count
            guard meshed == 0 || meshed == endpoints.count else {
                throw ProxyConfigError(
                    .outboundUpstreams,
                    "'\(item)' mixes meshed and plain endpoints: an upstream is either meshed (all IDENTITY@HOST:PORT/APP_PORT) or not"
                )
            }
            out.append(Upstream(listen: listen, endpoints: endpoints, authority: authority))
        }
        return out
    }

    static func parseEndpoint(_ text: String) throws(ProxyConfigError) -> Endpoint {
        guard let at = text.firstIndex(of: "@") else {
            return .plain(try HostPort.parse(text, key: .outboundUpstreams))
        }
        let identity = String(text[..<at])
        let rest = text[text.index(after: at)...]
        guard !identity.isEmpty, let slash = rest.lastIndex(of: "/"), let appPort = Int(rest[rest.index(after: slash)...]),
            (1...65535).contains(appPort)
        else {
            throw ProxyConfigError(.outboundUpstreams, "'\(text)' is not IDENTITY@HOST:PORT/APP_PORT")
        }
        let proxy = try HostPort.parse(String(rest[..<slash]), key: .outboundUpstreams)
        return .meshed(identity: identity, proxy: proxy, appPort: appPort)
    }
}

/// A health-probe route of the pod: plaintext GETs of `path` on `port` are allowed under every policy (from the
/// probe networks), so a `deny` pod still passes its kubelet probes without opening anything else.
public struct ProbeRoute: Hashable, Sendable {
    public var port: Int
    public var path: String

    /// `PORT:PATH[,PORT:PATH…]`, e.g. `8080:/healthz,8080:/ready`.
    static func parseList(_ text: String) throws(ProxyConfigError) -> Set<ProbeRoute> {
        var routes: Set<ProbeRoute> = []
        for item in text.split(separator: ",") {
            guard let colon = item.firstIndex(of: ":"), let port = Int(item[..<colon]), (1...65535).contains(port),
                item[item.index(after: colon)...].hasPrefix("/")
            else {
                throw ProxyConfigError(.inboundProbes, "'\(item)' is not PORT:PATH (e.g. 8080:/healthz)")
            }
            routes.insert(ProbeRoute(port: port, path: String(item[item.index(after: colon)...])))
        }
        return routes
    }
}
