/// Names that more than one component must agree on: audiences, file names, defaults.
public enum WellKnown {
    /// The audience of the projected ServiceAccount token a proxy presents to the identity service.
    public static let identityTokenAudience = "identity.lattice.io"
    /// The default lifetime of a workload certificate.
    public static let defaultLeafLifetime: Duration = .seconds(24 * 3600)
    /// How far a leaf's notBefore is backdated, for clock skew between nodes.
    public static let leafBackdate: Duration = .seconds(20)
    /// File names of a `kubernetes.io/tls` Secret as cert-manager writes it.
    public static let secretCertificateFile = "tls.crt"
    public static let secretKeyFile = "tls.key"
    public static let secretCAFile = "ca.crt"
    /// Default ports.
    public static let identityPort = 8080
    public static let controllerAdminPort = 9990
}
