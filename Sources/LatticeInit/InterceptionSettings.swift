import LatticeModel

/// What `lattice-init` redirects, and what it leaves alone: the flags (or the `LATTICE_INIT_*` environment the
/// injector sets, from the pod's `config.lattice.io/*` annotations).
public struct InterceptionSettings: Hashable, Sendable {
    /// How IPv6 TCP is handled.
    public enum IPv6Mode: String, CaseIterable, Sendable {
        /// The same redirect rules in ip6tables (the proxy must listen on IPv6 too).
        case redirect
        /// Meshed pods drop IPv6 TCP (loopback excepted) rather than let it bypass the proxy unencrypted.
        case drop
        /// Leave IPv6 alone (only where the pod has no IPv6).
        case off
    }

    public var inboundPort: Int = 4143
    public var outboundPort: Int = 4140
    /// The proxy's UID: its own outbound connections are never redirected (no loop).
    public var proxyUID: Int = 2102
    /// The proxy's own ports, never redirected inbound (admin, and any control port).
    public var proxyPorts: [PortSpec] = [.single(4190), .single(4191)]
    public var skipInboundPorts: [PortSpec] = []
    public var skipOutboundPorts: [PortSpec] = []
    /// Destinations never redirected outbound (CIDRs).
    public var skipSubnets: [String] = []
    public var ipv6: IPv6Mode = .drop

    public init() {}
}

/// A port or an inclusive range, as multiport takes it.
public enum PortSpec: Hashable, Sendable, CustomStringConvertible {
    case single(Int)
    case range(Int, Int)

    /// multiport counts a range as two of its fifteen.
    var weight: Int {
        if case .range = self { return 2 }
        return 1
    }

    public var description: String {
        switch self {
        case .single(let p): "\(p)"
        case .range(let a, let b): "\(a):\(b)"
        }
    }

    /// `25,587,8000-8010` (also `8000:8010`), through the project's one port-list parser.
    public static func parseList(_ text: String) -> Result<[PortSpec], InitError> {
        switch PortRanges.parse(text) {
        case .success(let ranges):
            return .success(ranges.map { $0.count == 1 ? .single($0.lowerBound) : .range($0.lowerBound, $0.upperBound) })
        case .failure(let error):
            return .failure(InitError(error.description))
        }
    }
}

/// A refusal with what to do about it.
public struct InitError: Error, Hashable, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { self.reason }
}
