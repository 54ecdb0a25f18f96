/// The namespace a pod is admitted into: what the selection rules and the Pod Security check read.
public struct NamespaceContext: Sendable, Hashable {
    public var name: String
    public var annotations: [String: String]
    public var labels: [String: String]

    public init(name: String, annotations: [String: String] = [:], labels: [String: String] = [:]) {
        self.name = name
        self.annotations = annotations
        self.labels = labels
    }
}

/// Why a pod was injected, or why not: a stable machine code (metrics labels, Kubernetes Event reasons, tests) and a
/// sentence for people that names what to do.
public struct InjectionReason: Sendable, Hashable, CustomStringConvertible {
    /// A stable, snake_case code. New codes may be added; existing ones never change meaning.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { self.rawValue }

        // Injected, because…
        /// The pod's own `lattice.io/inject: enabled` (or `linkerd.io/inject`).
        public static let podAnnotation = Code(rawValue: "pod_annotation")
        /// The namespace's `lattice.io/inject: enabled` (or `linkerd.io/inject`).
        public static let namespaceAnnotation = Code(rawValue: "namespace_annotation")
        /// The mesh config's `inject.namespaces` (Strategy A).
        public static let namespaceSelected = Code(rawValue: "namespace_selected")
        /// A mesh config `inject.services` selector (Strategy B).
        public static let serviceSelected = Code(rawValue: "service_selected")
        /// `lattice inject --manual` was asked to.
        public static let requested = Code(rawValue: "requested")

        // Skipped, because…
        public static let hostNetwork = Code(rawValue: "host_network")
        public static let alreadyInjected = Code(rawValue: "already_injected")
        public static let linkerdProxyPresent = Code(rawValue: "linkerd_proxy_present")
        public static let injectionDisabled = Code(rawValue: "injection_disabled")
        public static let notSelected = Code(rawValue: "not_selected")
        public static let podSecurityForbidsNetAdmin = Code(rawValue: "pod_security_forbids_net_admin")
        public static let invalidAnnotation = Code(rawValue: "invalid_annotation")
        public static let unsupportedKind = Code(rawValue: "unsupported_kind")
    }

    public var code: Code
    /// One sentence: what was found and, for a skip, what to do about it.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(self.code.rawValue): \(self.message)" }
}

/// What injection did with one pod: injected (and why it was selected) or skipped (and why), plus warnings that did
/// not stop it (an annotation and its Linkerd alias disagreeing).
public struct InjectionReport: Sendable, Hashable, CustomStringConvertible {
    public var injected: Bool
    public var reason: InjectionReason
    /// `pod/NAME`, `pod/GENERATENAME-` as admission sees a pod not yet named, or the workload the CLI read.
    public var workload: String
    public var warnings: [String]

    public init(injected: Bool, reason: InjectionReason, workload: String, warnings: [String] = []) {
        self.injected = injected
        self.reason = reason
        self.workload = workload
        self.warnings = warnings
    }

    public var description: String {
        var text = self.injected
            ? "\(self.workload) injected (\(self.reason.message))"
            : "\(self.workload) skipped: \(self.reason.message) [\(self.reason.code.rawValue)]"
        for warning in self.warnings { text += "\n  warning: \(warning)" }
        return text
    }
}

/// What the webhook sends back for one pod.
public struct PodAdmission: Sendable {
    /// RFC 6902 JSON array bytes; nil when nothing is to change.
    public var patch: [UInt8]?
    public var report: InjectionReport

    public init(patch: [UInt8]?, report: InjectionReport) {
        self.patch = patch
        self.report = report
    }
}

/// Input that is not a pod the injector can read: names what is wrong and where.
public struct InjectionError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The bytes are not JSON.
        public static let notJSON = Code(rawValue: "not_json")
        /// A field has the wrong type (the pod is not an object, `spec.containers` is not a list…).
        public static let wrongType = Code(rawValue: "wrong_type")
        /// A field every pod has is missing (`spec`, `spec.containers`).
        public static let missingField = Code(rawValue: "missing_field")
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "malformed pod: \(self.reason)" }

    public static func == (lhs: InjectionError, rhs: InjectionError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}
