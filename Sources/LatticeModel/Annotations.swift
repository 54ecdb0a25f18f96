/// The annotation keys Lattice reads, and how the runbook's Linkerd keys alias them.
///
/// Every `config.lattice.io/…` key has a `config.linkerd.io/…` alias and `lattice.io/inject` has `linkerd.io/inject`,
/// so charts written for Linkerd work unchanged. When both are set and disagree, Lattice's key wins and the conflict
/// is reported (``AnnotationLookup/conflicts``).
public enum AnnotationKey: String, CaseIterable, Sendable {
    case inject = "lattice.io/inject"
    case defaultInboundPolicy = "config.lattice.io/default-inbound-policy"
    case opaquePorts = "config.lattice.io/opaque-ports"
    case skipInboundPorts = "config.lattice.io/skip-inbound-ports"
    case skipOutboundPorts = "config.lattice.io/skip-outbound-ports"
    case skipSubnets = "config.lattice.io/skip-subnets"
    case proxyLogLevel = "config.lattice.io/proxy-log-level"
    /// The proxy container's resources (Kubernetes quantities), overriding the mesh config's defaults.
    case proxyCPURequest = "config.lattice.io/proxy-cpu-request"
    case proxyCPULimit = "config.lattice.io/proxy-cpu-limit"
    case proxyMemoryRequest = "config.lattice.io/proxy-memory-request"
    case proxyMemoryLimit = "config.lattice.io/proxy-memory-limit"

    /// The runbook's (Linkerd's) spelling of the same key.
    public var linkerdAlias: String {
        switch self {
        case .inject: "linkerd.io/inject"
        default: "config.linkerd.io/" + self.rawValue.dropFirst("config.lattice.io/".count)
        }
    }
}

/// Two spellings of one setting that disagree: Lattice's won.
public struct AnnotationConflict: Hashable, Sendable, CustomStringConvertible {
    public let key: AnnotationKey
    public let latticeValue: String
    public let linkerdValue: String
    public var description: String {
        "\(self.key.rawValue)=\(self.latticeValue) and \(self.key.linkerdAlias)=\(self.linkerdValue) disagree; "
            + "using \(self.latticeValue) (remove one of them)"
    }
}

/// Reads settings from a workload's annotations, falling back to its namespace's: a workload's annotation wins over
/// its namespace's; at each level Lattice's key wins over Linkerd's alias.
public struct AnnotationLookup: Sendable {
    public let workload: [String: String]
    public let namespace: [String: String]

    public init(workload: [String: String], namespace: [String: String]) {
        self.workload = workload
        self.namespace = namespace
    }

    /// The value of `key`, or nil when neither level sets it.
    public func value(_ key: AnnotationKey) -> String? {
        Self.value(key, in: self.workload) ?? Self.value(key, in: self.namespace)
    }

    /// Where a workload and its namespace spell a key both ways with different values.
    public var conflicts: [AnnotationConflict] {
        AnnotationKey.allCases.flatMap { key in
            [self.workload, self.namespace].compactMap { annotations -> AnnotationConflict? in
                guard let lattice = annotations[key.rawValue], let linkerd = annotations[key.linkerdAlias],
                    lattice.trimmed != linkerd.trimmed
                else { return nil }
                return AnnotationConflict(key: key, latticeValue: lattice, linkerdValue: linkerd)
            }
        }
    }

    static func value(_ key: AnnotationKey, in annotations: [String: String]) -> String? {
        if let value = annotations[key.rawValue]?.trimmed, !value.isEmpty { return value }
        if let value = annotations[key.linkerdAlias]?.trimmed, !value.isEmpty { return value }
        return nil
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\t" || first == "\n" { s = s.dropFirst() }
        while let last = s.last, last == " " || last == "\t" || last == "\n" { s = s.dropLast() }
        return String(s)
    }
}
