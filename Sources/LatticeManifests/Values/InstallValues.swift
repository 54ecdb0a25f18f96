import LatticeInjector
import LatticeModel

/// The control plane's settings, decoded from merged values (the `lattice-control-plane` chart's keys).
///
/// Made only by ``decode(_:)``, which checks every key, so a value in hand is one the renderer can use. The chart
/// reads the same keys; ``defaultsYAML`` is the chart's `values.yaml` and ``highAvailabilityYAML`` its
/// `values-ha.yaml` (a test keeps them equal to the files).
public struct InstallValues: Sendable, Equatable {
    public struct Resources: Sendable, Equatable {
        public var cpuRequest: String
        public var memoryRequest: String
        public var cpuLimit: String
        public var memoryLimit: String
    }

    public struct Controller: Sendable, Equatable {
        public var image: String
        public var imagePullPolicy: String
        public var replicas: Int
        public var logLevel: String
        public var maxInFlight: Int
        public var perPeerRate: Double
        public var resources: Resources
        public var antiAffinity: Bool
        public var podDisruptionBudget: Bool
        public var maxUnavailable: Int
        public var nodeSelector: ValueTree
        public var tolerations: ValueTree
    }

    public struct Webhook: Sendable, Equatable {
        public var failurePolicy: String
        public var timeoutSeconds: Int
        public var certificateValidityDays: Int
    }

    public struct Monitoring: Sendable, Equatable {
        public var podMonitor: Bool
        public var interval: String
        public var labels: [String: String]
    }

    public var identityTrustAnchorsPEM: String
    public var issuerCertificatePEM: String
    public var issuerKeyPEM: String
    public var issuanceLifetime: String
    public var trustDomain: String
    public var clusterDomain: String
    public var clusterNetworks: [String]
    public var defaultInboundPolicy: String
    public var installNamespace: Bool
    public var controller: Controller
    /// The proxy settings the injector uses (written to the `lattice-config` ConfigMap).
    public var proxy: MeshConfig.ProxySettings
    public var webhook: Webhook
    public var monitoring: Monitoring
    public var injection: InjectionValues

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error"]
    static let policies = [
        "all-unauthenticated", "all-authenticated", "cluster-unauthenticated", "cluster-authenticated", "deny", "audit",
    ]
    static let pullPolicies = ["Always", "IfNotPresent", "Never"]

    /// Decodes and checks merged values.
    ///
    /// - Throws: ``ManifestsError`` naming the first key that is unknown, of the wrong type or out of range.
    public static func decode(_ tree: ValueTree) throws(ManifestsError) -> InstallValues {
        try UnknownKeys.check(tree, against: Self.defaults, source: "lattice-control-plane values")
        let r = ValueReader(tree: tree)
        let issuanceLifetime = try r.string("identity.issuer.issuanceLifetime")
        guard let lifetime = DurationText.parse(issuanceLifetime), lifetime >= .seconds(10) else {
            throw ManifestsError(
                .invalidValue,
                "identity.issuer.issuanceLifetime is '\(issuanceLifetime)'; give a duration of at least 10s (e.g. 24h)"
            )
        }
        let trustDomain = try r.string("identityTrustDomain")
        do {
            _ = try IdentityDomain(controlPlaneNamespace: "lattice", trustDomain: trustDomain)
        } catch {
            throw ManifestsError(.invalidValue, "identityTrustDomain '\(trustDomain)': \(error.reason)")
        }
        let clusterDomain = try r.string("clusterDomain")
        guard DNSName.isSubdomain(clusterDomain) else {
            throw ManifestsError(.invalidValue, "clusterDomain '\(clusterDomain)' is not a DNS name (e.g. cluster.local)")
        }
        let networks = try r.string("clusterNetworks").split(separator: ",").map { String($0).trimmingSpaces }
        for network in networks where !Self.looksLikeCIDR(network) {
            throw ManifestsError(
                .invalidValue,
                "clusterNetworks: '\(network)' is not a CIDR (write e.g. 10.0.0.0/8,fd00::/8)"
            )
        }
        guard !networks.isEmpty else {
            throw ManifestsError(.invalidValue, "clusterNetworks is empty; give at least one CIDR (e.g. 10.0.0.0/8)")
        }
        let controller = Controller(
            image: try Self.image(r, "controller.image"),
            imagePullPolicy: try r.oneOf("controller.imagePullPolicy", Self.pullPolicies),
            replicas: try r.int("controller.replicas", in: 1...100),
            logLevel: try r.oneOf("controller.logLevel", Self.logLevels),
            maxInFlight: try r.int("controller.maxInFlight", in: 1...1_000_000),
            perPeerRate: try r.number("controller.perPeerRate", atLeast: 0),
            resources: try Self.resources(r, "controller.resources"),
            antiAffinity: try r.bool("controller.antiAffinity"),
            podDisruptionBudget: try r.bool("controller.podDisruptionBudget.enabled"),
            maxUnavailable: try r.int("controller.podDisruptionBudget.maxUnavailable", in: 1...100),
            nodeSelector: try r.tree("controller.nodeSelector", object: true),
            tolerations: try r.tree("controller.tolerations", object: false)
        )
        if controller.podDisruptionBudget && controller.replicas < 2 {
            throw ManifestsError(
                .invalidValue,
                "controller.podDisruptionBudget.enabled with controller.replicas 1 would block every node drain; "
                    + "set controller.replicas to 2 or more (values-ha.yaml sets 3) or disable the budget"
            )
        }
        let proxy = MeshConfig.ProxySettings(
            image: try Self.image(r, "proxy.image"),
            initImage: try Self.image(r, "proxy.initImage"),
            imagePullPolicy: try r.oneOf("proxy.imagePullPolicy", Self.pullPolicies),
            uid: try r.int("proxy.uid", in: 1...2_147_483_647),
            nativeSidecar: MeshConfig.NativeSidecar(rawValue: try r.oneOf("proxy.nativeSidecar", ["true", "false", "auto"]))!,
            resources: try Self.proxyResources(r),
            maxConnections: try r.int("proxy.maxConnections", in: 1...10_000_000),
            logLevel: try r.oneOf("proxy.logLevel", Self.logLevels),
            opaquePorts: try Self.ports(r, "proxy.opaquePorts"),
            skipInboundPorts: try Self.ports(r, "proxy.skipInboundPorts"),
            skipOutboundPorts: try Self.ports(r, "proxy.skipOutboundPorts")
        )
        let interval = try r.string("monitoring.podMonitor.interval")
        guard DurationText.parse(interval) != nil else {
            throw ManifestsError(.invalidValue, "monitoring.podMonitor.interval '\(interval)' is not a duration (e.g. 10s)")
        }
        return InstallValues(
            identityTrustAnchorsPEM: try r.string("identityTrustAnchorsPEM"),
            issuerCertificatePEM: try r.string("identity.issuer.tls.crtPEM"),
            issuerKeyPEM: try r.string("identity.issuer.tls.keyPEM"),
            issuanceLifetime: issuanceLifetime,
            trustDomain: trustDomain,
            clusterDomain: clusterDomain,
            clusterNetworks: networks,
            defaultInboundPolicy: try r.oneOf("defaultInboundPolicy", Self.policies),
            installNamespace: try r.bool("installNamespace"),
            controller: controller,
            proxy: proxy,
            webhook: Webhook(
                failurePolicy: try r.oneOf("webhook.failurePolicy", ["Ignore", "Fail"]),
                timeoutSeconds: try r.int("webhook.timeoutSeconds", in: 1...30),
                certificateValidityDays: try r.int("webhook.certificateValidityDays", in: 1...3650)
            ),
            monitoring: Monitoring(
                podMonitor: try r.bool("monitoring.podMonitor.enabled"),
                interval: interval,
                labels: try r.stringMap("monitoring.podMonitor.labels")
            ),
            injection: try InjectionValues.decode(r, targetPrefix: "injectTarget.")
        )
    }

    static func image(_ r: ValueReader, _ path: String) throws(ManifestsError) -> String {
        let image = try r.string(path)
        guard !image.isEmpty, !image.contains(where: { $0 == " " || $0 == "\n" }) else {
            throw ManifestsError(.invalidValue, "\(path) '\(image)' is not an image reference (e.g. ghcr.io/lattice-mesh/lattice-proxy:0.4.0)")
        }
        return image
    }

    static func resources(_ r: ValueReader, _ path: String) throws(ManifestsError) -> Resources {
        Resources(
            cpuRequest: try Self.quantity(r, "\(path).requests.cpu"),
            memoryRequest: try Self.quantity(r, "\(path).requests.memory"),
            cpuLimit: try Self.quantity(r, "\(path).limits.cpu"),
            memoryLimit: try Self.quantity(r, "\(path).limits.memory")
        )
    }

    static func proxyResources(_ r: ValueReader) throws(ManifestsError) -> MeshConfig.Resources {
        let resources = try Self.resources(r, "proxy.resources")
        func optional(_ s: String) -> String? { s.isEmpty ? nil : s }
        return MeshConfig.Resources(
            cpuRequest: optional(resources.cpuRequest),
            cpuLimit: optional(resources.cpuLimit),
            memoryRequest: optional(resources.memoryRequest),
            memoryLimit: optional(resources.memoryLimit)
        )
    }

    /// A Kubernetes quantity (`100m`, `64Mi`, `0.5`, `1G`) or empty for unset.
    static func quantity(_ r: ValueReader, _ path: String) throws(ManifestsError) -> String {
        let text = try r.string(path)
        if text.isEmpty { return text }
        let suffixes = ["m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", ""]
        let valid = suffixes.contains { suffix in
            guard text.hasSuffix(suffix) else { return false }
            let number = text.dropLast(suffix.count)
            return !number.isEmpty && Double(number) != nil && !number.hasPrefix("-") && number.allSatisfy { $0.isNumber || $0 == "." }
        }
        guard valid else {
            throw ManifestsError(.invalidValue, "\(path) '\(text)' is not a Kubernetes quantity (e.g. 100m, 64Mi), or \"\" for none")
        }
        return text
    }

    static func ports(_ r: ValueReader, _ path: String) throws(ManifestsError) -> String {
        let text = try r.string(path)
        if case .failure(let error) = PortRanges.parse(text) {
            throw ManifestsError(.invalidValue, "\(path) '\(text)': \(error)")
        }
        return text
    }

    static func looksLikeCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let bits = Int(parts[1]), bits >= 0 else { return false }
        let address = parts[0]
        if address.contains(":") {
            return bits <= 128 && address.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        let octets = address.split(separator: ".", omittingEmptySubsequences: false)
        return bits <= 32 && octets.count == 4 && octets.allSatisfy { Int($0).map { (0...255).contains($0) } ?? false }
    }
}
