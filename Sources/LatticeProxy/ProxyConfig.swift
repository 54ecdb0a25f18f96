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
        case maxConnections = "LATTICE_PROXY_MAX_CONNECTIONS"
        case logLevel = "LATTICE_PROXY_LOG_LEVEL"
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
    public var maxConnections: Int
    public var logLevel: String

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
        var networks = IPNetwork.linkerdDefaults
        if let text = value(.clusterNetworks) {
            do {
                networks = try IPNetwork.parseList(text)
            } catch {
                throw ProxyConfigError(.clusterNetworks, error.reason)
            }
        }
        self.policy = InboundPolicy(defaultPolicy: policy, clusterNetworks: networks)
        self.detectTimeout = try duration(.detectTimeout, default: .seconds(1))
        self.connectTimeout = try duration(.connectTimeout, default: .seconds(1))
        self.readyTimeout = try duration(.readyTimeout, default: .seconds(10))
        self.shutdownGrace = try duration(.shutdownGrace, default: .seconds(5))
        self.logLevel = value(.logLevel) ?? "info"
        if let text = value(.maxConnections) {
            guard let limit = Int(text), limit >= 1 else {
                throw ProxyConfigError(.maxConnections, "'\(text)' is not a positive number of connections")
            }
            self.maxConnections = limit
        } else {
            self.maxConnections = 10_000
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

/// A local-mode upstream: an outbound listener and where its connections go.
///
/// `LISTEN=IDENTITY@PROXY_HOST:PROXY_PORT/APP_PORT` dials the peer's proxy with mTLS, demanding IDENTITY, and names
/// APP_PORT in the transport header; `LISTEN=HOST:PORT` forwards without mTLS (counted as `tls="no_identity"`).
public struct Upstream: Hashable, Sendable {
    public enum Target: Hashable, Sendable {
        case meshed(identity: String, proxy: HostPort, appPort: Int)
        case plain(HostPort)
    }

    public var listen: HostPort
    public var target: Target

    static func parseList(_ text: String) throws(ProxyConfigError) -> [Upstream] {
        var out: [Upstream] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else {
                throw ProxyConfigError(.outboundUpstreams, "'\(item)' is not LISTEN=TARGET")
            }
            let listen = try HostPort.parse(String(parts[0]), key: .outboundUpstreams)
            let target = String(parts[1])
            if let at = target.firstIndex(of: "@") {
                let identity = String(target[..<at])
                let rest = target[target.index(after: at)...]
                guard let slash = rest.lastIndex(of: "/"), let appPort = Int(rest[rest.index(after: slash)...]),
                    (1...65535).contains(appPort)
                else {
                    throw ProxyConfigError(.outboundUpstreams, "'\(target)' is not IDENTITY@HOST:PORT/APP_PORT")
                }
                let proxy = try HostPort.parse(String(rest[..<slash]), key: .outboundUpstreams)
                out.append(Upstream(listen: listen, target: .meshed(identity: identity, proxy: proxy, appPort: appPort)))
            } else {
                out.append(Upstream(listen: listen, target: .plain(try HostPort.parse(target, key: .outboundUpstreams))))
            }
        }
        return out
    }
}
