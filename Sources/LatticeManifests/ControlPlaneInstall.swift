import FoundationEssentials
import LatticeModel

/// Everything `lattice install` does before printing: merge values as Helm would (chart defaults, `values-ha.yaml`
/// with `--ha`, `-f` files, `--set`, `--set-string`, `--set-file`, and the three credential files), check them,
/// check the issuer, generate the webhook's certificates and render.
public struct ControlPlaneInstall: Sendable {
    public var layers: ValuesLayers
    public var highAvailability: Bool
    /// The control plane's namespace.
    public var namespace: String
    /// `--identity-trust-anchors-file`, `--identity-issuer-certificate-file`, `--identity-issuer-key-file`: the
    /// same as `--set-file identityTrustAnchorsPEM=…` and so on, applied before the user's own `--set-file`s.
    public var trustAnchorsFile: String?
    public var issuerCertificateFile: String?
    public var issuerKeyFile: String?

    public init(
        layers: ValuesLayers = .init(),
        highAvailability: Bool = false,
        namespace: String = "lattice",
        trustAnchorsFile: String? = nil,
        issuerCertificateFile: String? = nil,
        issuerKeyFile: String? = nil
    ) {
        self.layers = layers
        self.highAvailability = highAvailability
        self.namespace = namespace
        self.trustAnchorsFile = trustAnchorsFile
        self.issuerCertificateFile = issuerCertificateFile
        self.issuerKeyFile = issuerKeyFile
    }

    /// `lattice install` renders the Namespace too (Helm users pass `--create-namespace` instead).
    public static let installDefaults: ValueTree = ["installNamespace": true]

    /// The merged values tree.
    public func mergedValues(
        readFile: (String) throws(ManifestsError) -> String = ValuesLayers.readFile
    ) throws(ManifestsError) -> ValueTree {
        var base = InstallValues.defaults.merged(with: Self.installDefaults)
        if self.highAvailability { base = base.merged(with: InstallValues.highAvailability) }
        var layers = self.layers
        let credentialFiles = [
            ("identityTrustAnchorsPEM", self.trustAnchorsFile), ("identity.issuer.tls.crtPEM", self.issuerCertificateFile),
            ("identity.issuer.tls.keyPEM", self.issuerKeyFile),
        ].compactMap { key, path in path.map { "\(key)=\($0.replacing(",", with: "\\,"))" } }
        layers.setFile = credentialFiles + layers.setFile
        return try layers.merge(onto: base, readFile: readFile)
    }

    /// Checks everything and renders. Nothing is returned unless every check passed.
    ///
    /// - Parameter now: the time certificates are checked and generated at.
    /// - Throws: ``ManifestsError`` naming the first problem and its fix.
    public func render(
        now: Date,
        readFile: (String) throws(ManifestsError) -> String = ValuesLayers.readFile
    ) async throws(ManifestsError) -> [Manifest] {
        let values = try InstallValues.decode(try self.mergedValues(readFile: readFile))
        guard DNSName.isLabel(self.namespace) else {
            throw ManifestsError(.invalidValue, "namespace '\(self.namespace)' is not a valid namespace name (a DNS label)")
        }
        // Strategy conflicts first: they need no credentials to report.
        _ = try values.injection.selection(namespaceKey: "injectTarget.namespace")
        _ = try await IssuerCheck.check(values, now: now)
        let certificates = try WebhookCertificates.generate(
            namespace: self.namespace,
            validityDays: values.webhook.certificateValidityDays,
            now: now
        )
        return try ControlPlaneRenderer(values: values, namespace: self.namespace, webhookCertificates: certificates).render()
    }
}

