import LatticeIdentity
import LatticeInjector

/// The webhook's ``PodMutator``: the pure ``PodInjector`` with the mesh configuration in force and the Pod's
/// namespace as the controller knows it (annotations for opt-in and `config.*` defaults, labels for Pod Security).
///
/// A ``PodInjector`` is built once per configuration, not per review: the configuration changes rarely, reviews come
/// with every pod creation. An injected pod is also stamped with the digest of the trust anchors in force
/// (`lattice.io/trust-anchors-sha256`), so `lattice check` can list the pods started before an anchor rotation.
public struct InjectorPodMutator: PodMutator {
    /// The namespace's annotations and labels, or nil when the controller doesn't know it (yet).
    public typealias NamespaceLookup = @Sendable (String) -> NamespaceContext?

    public static let anchorsDigestAnnotation = "lattice.io/trust-anchors-sha256"
    /// Skips the user should hear about at `kubectl apply` (admission warnings); the others are routine.
    static let noteworthySkips: Set<InjectionReason.Code> = [.linkerdProxyPresent, .podSecurityForbidsNetAdmin, .invalidAnnotation]

    private let config: @Sendable () -> MeshConfig
    private let nativeSidecar: @Sendable (MeshConfig) -> Bool
    private let namespaces: NamespaceLookup
    private let anchors: @Sendable () -> TrustBundle?
    private let cache = InjectorCache()

    /// - Parameters:
    ///   - config: The configuration in force (``MeshConfigService/current``).
    ///   - nativeSidecar: Whether to add the proxy as a native sidecar under a configuration (its `auto` resolved
    ///     by the cluster's version).
    ///   - namespaces: Where the namespace's metadata comes from.
    ///   - anchors: The trust anchors in force, when known (their `TrustBundle.digest` is stamped on injected pods).
    public init(
        config: @escaping @Sendable () -> MeshConfig,
        nativeSidecar: @escaping @Sendable (MeshConfig) -> Bool,
        namespaces: @escaping NamespaceLookup,
        anchors: @escaping @Sendable () -> TrustBundle? = { nil }
    ) {
        self.config = config
        self.nativeSidecar = nativeSidecar
        self.namespaces = namespaces
        self.anchors = anchors
    }

    public func mutate(pod: JSONValue, namespace: String) throws -> PodMutation {
        let config = self.config()
        let native = self.nativeSidecar(config)
        let injector = self.cache.injector(for: config, nativeSidecar: native)
        let context = self.namespaces(namespace) ?? NamespaceContext(name: namespace)
        var (patch, report) = try injector.injection(forPod: pod, namespace: context, selection: .admission)
        if report.injected, let anchors = self.anchors() {
            let digest = self.cache.digest(of: anchors)
            // The injector's own annotations come first, so `/metadata/annotations` exists by then.
            patch.operations.append(
                .add(JSONPointer(["metadata", "annotations", Self.anchorsDigestAnnotation]), .string(digest))
            )
        }
        var warnings = report.warnings
        if !report.injected && Self.noteworthySkips.contains(report.reason.code) {
            warnings.insert("not meshed: \(report.reason.message)", at: 0)
        }
        return PodMutation(
            patch: patch.isEmpty ? nil : patch.serialized(),
            injected: report.injected,
            message: report.description,
            warning: warnings.isEmpty ? nil : warnings.joined(separator: "; ")
        )
    }
}
