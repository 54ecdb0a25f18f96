import LatticeModel

/// The names injection writes into a pod, and that uninjection, `lattice check` and the webhook look for.
public enum SidecarNames {
    public static let proxyContainer = "lattice-proxy"
    public static let initContainer = "lattice-init"
    /// A Linkerd proxy: a pod carrying one is never injected (both meshes must not double-inject).
    public static let linkerdProxyContainer = "linkerd-proxy"
    public static let linkerdProxyVersionAnnotation = "linkerd.io/proxy-version"

    public static let proxyPortName = "lattice-proxy"
    public static let adminPortName = "lattice-admin"

    public static let tokenVolume = "lattice-identity-token"
    public static let trustRootsVolume = "lattice-identity-trust-roots"
    public static let xtablesLockVolume = "lattice-init-xtables-lock"
    public static let volumes: Set<String> = [tokenVolume, trustRootsVolume, xtablesLockVolume]

    /// The ConfigMap (in the pod's namespace) holding the trust anchors, and its key.
    public static let trustRootsConfigMap = "lattice-identity-trust-roots"
    public static let trustRootsKey = "ca-bundle.crt"
    public static let tokenMountPath = "/var/run/secrets/tokens"
    public static let tokenFile = "lattice-identity-token"
    public static let trustRootsMountPath = "/var/run/lattice/identity/trust-roots"

    /// Added to every injected pod (so re-injection is detected and `lattice check` can compare versions).
    public static let injectStatusAnnotation = "lattice.io/inject-status"
    public static let injectStatusInjected = "injected"
    public static let proxyVersionAnnotation = "lattice.io/proxy-version"
    public static let controlPlaneNamespaceLabel = "lattice.io/control-plane-ns"
    /// kubectl's default container for `logs`/`exec`: set to the app's first container when a classic proxy goes
    /// first (and the pod names none), so `kubectl logs POD` keeps showing the app.
    public static let defaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

    /// Pod Security admission's namespace label; `baseline` and `restricted` forbid NET_ADMIN.
    public static let podSecurityEnforceLabel = "pod-security.kubernetes.io/enforce"

    /// How long a projected workload token lives (the kubelet renews it at 80 %).
    public static let tokenExpirationSeconds: Int64 = 86_400

    /// The classic sidecar's post-start hook: blocks the app's containers from starting until the proxy is ready.
    public static let awaitReadyCommand: [String] = ["lattice-proxy", "await-ready"]
}
