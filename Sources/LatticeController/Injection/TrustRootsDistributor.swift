import LatticeIdentity
import LatticeInjector
import LatticeKube
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps a copy of the trust anchors (ConfigMap `lattice-identity-trust-roots`, key `ca-bundle.crt`) in every
/// namespace whose pods may be meshed: a pod can mount a ConfigMap only from its own namespace, and the injected
/// proxy reads its anchors from that mount (reloading it when the kubelet refreshes it, so an anchor rotation reaches
/// running proxies without a restart).
///
/// Every interval it looks at the namespaces it hasn't confirmed for the current anchors (new namespaces, or all of
/// them after an anchor change, and all of them every tenth round as a resync): a missing copy is created, a
/// different one replaced (a conflict is simply retried next round). Namespaces that can't be meshed are
/// left alone: `kube-system`, `kube-public`, `kube-node-lease`, the control plane's own (it has the original), and
/// those labelled `config.lattice.io/admission-webhooks: disabled`.
public final class TrustRootsDistributor: Service, Sendable {
    public static let excludedNamespaces: Set<String> = ["kube-system", "kube-public", "kube-node-lease"]
    public static let optOutLabel = "config.lattice.io/admission-webhooks"
    public static let managedByLabel = ("app.kubernetes.io/managed-by", "lattice-controller")

    private let store: any ConfigMapStore
    private let namespaces: @Sendable () -> [(name: String, labels: [String: String])]?
    private let anchors: @Sendable () -> TrustBundle?
    private let controlPlaneNamespace: String
    private let interval: Duration
    private let logger: Logger
    /// The bundle each namespace's copy was last confirmed to hold, and the rounds since the last full resync.
    private let confirmed = Mutex<(bundles: [String: String], rounds: Int)>(([:], 0))

    /// - Parameters:
    ///   - namespaces: The cluster's namespaces with their labels (the discovery watch's), nil until it has synced.
    ///   - anchors: The anchors the controller holds (its issuer's), nil before the first valid issuer.
    public init(
        store: any ConfigMapStore,
        namespaces: @escaping @Sendable () -> [(name: String, labels: [String: String])]?,
        anchors: @escaping @Sendable () -> TrustBundle?,
        controlPlaneNamespace: String,
        interval: Duration,
        logger: Logger
    ) {
        self.store = store
        self.namespaces = namespaces
        self.anchors = anchors
        self.controlPlaneNamespace = controlPlaneNamespace
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await self.distribute()
            guard (try? await Task.sleep(for: self.interval)) != nil else { return }
        }
    }

    /// One round: returns the namespaces whose copy was created or replaced.
    @discardableResult
    public func distribute() async -> [String] {
        guard let anchors = self.anchors(), let namespaces = self.namespaces() else { return [] }
        let bundle = CertificateLoader.pem(anchors.anchors)
        let known = self.confirmed.withLock { state -> [String: String] in
            state.rounds += 1
            if state.rounds >= 10 { state = ([:], 0) }
            return state.bundles
        }
        var written: [String] = []
        for namespace in namespaces where self.isMeshable(namespace.name, labels: namespace.labels) && known[namespace.name] != bundle {
            do {
                if try await self.ensure(bundle: bundle, in: namespace.name) { written.append(namespace.name) }
                self.confirmed.withLock { $0.bundles[namespace.name] = bundle }
            } catch {
                self.logger.warning(
                    "cannot write the trust anchors' copy; retrying next round",
                    metadata: ["k8s.namespace.name": "\(namespace.name)", "error.message": "\(error)"]
                )
            }
        }
        if !written.isEmpty {
            self.logger.info("trust anchors copied", metadata: ["k8s.namespaces": "\(written.joined(separator: ","))"])
        }
        return written
    }

    func isMeshable(_ namespace: String, labels: [String: String]) -> Bool {
        !Self.excludedNamespaces.contains(namespace) && namespace != self.controlPlaneNamespace
            && labels[Self.optOutLabel] != "disabled"
    }

    /// Creates or replaces the copy in `namespace`; false when it was current already.
    private func ensure(bundle: String, in namespace: String) async throws -> Bool {
        let name = SidecarNames.trustRootsConfigMap
        let key = SidecarNames.trustRootsKey
        guard var existing = try await self.store.configMap(namespace: namespace, name: name) else {
            let labels = [Self.managedByLabel.0: Self.managedByLabel.1]
            try await self.store.create(
                ConfigMap(metadata: ObjectMeta(name: name, namespace: namespace, labels: labels), data: [key: bundle]),
                namespace: namespace
            )
            return true
        }
        guard existing.data?[key] != bundle else { return false }
        existing.data = [key: bundle]
        try await self.store.replace(existing, namespace: namespace)
        return true
    }
}
