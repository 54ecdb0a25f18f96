import LatticeModel

/// Names of the control plane's objects, shared by `lattice install`, the chart (its templates spell the same
/// names) and `lattice check`.
public enum ControlPlaneNames {
    public static let controller = "lattice-controller"
    public static let webhookService = "lattice-webhook"
    public static let webhookSecret = "lattice-webhook-tls"
    public static let webhookConfiguration = "lattice-proxy-injector"
    public static let webhookName = "proxy-injector.lattice.io"
    public static let webhookPath = "/inject"
    public static let webhookPort = 8443
    public static let issuerSecret = "lattice-identity-issuer"
    /// The trust-anchor bundle; proxies mount a ConfigMap of this name from their own namespace (the controller
    /// copies it into every namespace that has meshed pods).
    public static let trustRootsConfigMap = "lattice-identity-trust-roots"
    public static let trustRootsKey = "ca-bundle.crt"
    public static let podMonitor = "lattice-proxies"
    /// Where the controller mounts its Secrets.
    public static let issuerMountPath = "/var/run/lattice/identity/issuer"
    public static let webhookMountPath = "/var/run/lattice/webhook"
    /// Where the controller reads the `lattice-config` ConfigMap (`--mesh-config`).
    public static let meshConfigMountPath = "/var/run/lattice/config"
    /// Labels and annotations the manifests use.
    public static let webhookOptOutLabel = "config.lattice.io/admission-webhooks"
    public static let webhookOptOutLabelLinkerd = "config.linkerd.io/admission-webhooks"
    public static let meshConfigLabel = "lattice.io/mesh-config"
    /// The proxy container's name (`kubectl get pods -o jsonpath=…containers[*].name` shows `<app> lattice-proxy`).
    public static let proxyContainer = "lattice-proxy"
    /// The controller's non-root UID/GID.
    public static let controllerUID = 2103
}
