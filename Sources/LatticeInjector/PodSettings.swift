import LatticeModel
import LatticePolicy

/// The per-pod values of the sidecar: the pod's `config.*` annotations (its namespace's where the pod sets none;
/// Lattice's keys over Linkerd's aliases) over the mesh config's defaults, each checked, so a bad value skips the pod
/// with a reason instead of producing a proxy that stops at start.
struct PodSettings: Hashable {
    var defaultInboundPolicy: String
    var opaquePorts: String
    var skipInboundPorts: String
    var skipOutboundPorts: String
    var skipSubnets: String
    var logLevel: String
    var resources: MeshConfig.Resources
    /// `PORT:PATH` pairs of the pod's HTTP probes, in the order the pod lists them.
    var probes: [String]

    /// A value that cannot be used: the annotation, its value and why.
    struct Invalid: Error {
        let key: String
        let value: String
        let reason: String
        var message: String {
            "annotation \(self.key)='\(self.value)' \(self.reason); fix or remove it and recreate the pod"
        }
    }

    static let logLevels: Set<String> = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Resolves every setting; the first annotation that can't be used is the error.
    init(lookup: AnnotationLookup, pod: PodView, config: MeshConfig) throws(Invalid) {
        /// The value and the spelling it was found under (the pod's before the namespace's, Lattice's before Linkerd's).
        func annotated(_ key: AnnotationKey) -> (text: String, key: String)? {
            for level in [lookup.workload, lookup.namespace] {
                for spelling in [key.rawValue, key.linkerdAlias] {
                    if let value = level[spelling] {
                        let text = value.trimmingSpaces
                        if !text.isEmpty { return (text, spelling) }
                    }
                }
            }
            return nil
        }

        if case let (text, key)? = annotated(.defaultInboundPolicy) {
            do {
                _ = try DefaultInboundPolicy.parse(text)
            } catch {
                throw Invalid(key: key, value: text, reason: "is not a policy (\(error.reason))")
            }
            self.defaultInboundPolicy = text
        } else {
            self.defaultInboundPolicy = config.defaultInboundPolicy
        }

        if case let (text, key)? = annotated(.opaquePorts) {
            self.opaquePorts = try Self.resolvePortNames(text, key: key, pod: pod)
        } else {
            self.opaquePorts = config.proxy.opaquePorts
        }

        func portList(_ annotation: AnnotationKey, base: String) throws(Invalid) -> String {
            guard case let (text, key)? = annotated(annotation) else { return base }
            if case .failure(let error) = PortRanges.parse(text) {
                throw Invalid(key: key, value: text, reason: "is not a list of ports: \(error)")
            }
            return [base, text].filter { !$0.isEmpty }.joined(separator: ",")
        }
        self.skipInboundPorts = try portList(.skipInboundPorts, base: config.proxy.skipInboundPorts)
        self.skipOutboundPorts = try portList(.skipOutboundPorts, base: config.proxy.skipOutboundPorts)

        if case let (text, key)? = annotated(.skipSubnets) {
            var subnets: [String] = []
            for item in text.split(separator: ",") {
                let cidr = item.filter { $0 != " " }
                if cidr.isEmpty { continue }
                guard cidr.contains("/"), (try? IPNetwork(cidr)) != nil else {
                    throw Invalid(key: key, value: text, reason: "names '\(cidr)', which is not a CIDR (e.g. 198.51.100.0/24)")
                }
                subnets.append(cidr)
            }
            self.skipSubnets = subnets.joined(separator: ",")
        } else {
            self.skipSubnets = ""
        }

        if case let (text, key)? = annotated(.proxyLogLevel) {
            guard Self.logLevels.contains(text) else {
                throw Invalid(key: key, value: text, reason: "is not a log level (trace, debug, info, notice, warning, error, critical)")
            }
            self.logLevel = text
        } else {
            self.logLevel = config.proxy.logLevel
        }

        func quantity(_ annotation: AnnotationKey, _ fallback: String?) throws(Invalid) -> String? {
            guard case let (text, key)? = annotated(annotation) else { return fallback }
            guard Quantity.isValid(text) else {
                throw Invalid(key: key, value: text, reason: "is not a Kubernetes quantity (e.g. 100m, 0.5, 64Mi, 1Gi)")
            }
            return text
        }
        let defaults = config.proxy.resources
        self.resources = MeshConfig.Resources(
            cpuRequest: try quantity(.proxyCPURequest, defaults.cpuRequest),
            cpuLimit: try quantity(.proxyCPULimit, defaults.cpuLimit),
            memoryRequest: try quantity(.proxyMemoryRequest, defaults.memoryRequest),
            memoryLimit: try quantity(.proxyMemoryLimit, defaults.memoryLimit)
        )
        self.probes = pod.probeRoutes()
    }

    /// An opaque-ports list may name container ports (`mysql`): those become their numbers, as the proxy takes only
    /// numbers.
    static func resolvePortNames(_ text: String, key: String, pod: PodView) throws(Invalid) -> String {
        var items: [String] = []
        for raw in text.split(separator: ",") {
            let item = raw.filter { $0 != " " }
            if item.isEmpty { continue }
            if case .success = PortRanges.parse(item) {
                items.append(item)
            } else if let port = pod.containerPort(named: item) {
                items.append(String(port))
            } else {
                throw Invalid(key: key, value: text, reason: "names '\(item)', which is neither a port, a range nor a container port's name")
            }
        }
        return items.joined(separator: ",")
    }
}

/// Kubernetes resource quantities (`resource.Quantity`): a decimal number with an optional binary (`Ki`…`Ei`),
/// decimal (`n`, `u`, `m`, `k`, `M`…`E`) or exponent (`e3`) suffix.
enum Quantity {
    static func isValid(_ text: String) -> Bool {
        var s = Substring(text)
        if s.first == "+" || s.first == "-" { s = s.dropFirst() }
        var digits = 0
        var fraction = false
        while let c = s.first, c.isASCII, c.isNumber || c == "." {
            if c == "." {
                if fraction { return false }
                fraction = true
            } else {
                digits += 1
            }
            s = s.dropFirst()
        }
        guard digits > 0 else { return false }
        switch s {
        case "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E": return true
        default:
            guard s.first == "e" || s.first == "E" else { return false }
            var exponent = s.dropFirst()
            if exponent.first == "+" || exponent.first == "-" { exponent = exponent.dropFirst() }
            return !exponent.isEmpty && exponent.allSatisfy { $0.isASCII && $0.isNumber }
        }
    }
}

extension String {
    /// Without leading and trailing spaces, tabs and newlines (how annotation values are read).
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" || c == "\n" || c == "\r" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\n" || c == "\r" { s = s.dropLast() }
        return String(s)
    }
}
