import ArgumentParser
import FoundationEssentials
import LatticeManifests

/// `lattice install`: prints every object of the control plane as YAML, the same objects the
/// `lattice-control-plane` chart renders for the same values (docs/install.md).
///
///     lattice install --identity-trust-anchors-file ca.crt --identity-issuer-certificate-file issuer.crt \
///       --identity-issuer-key-file issuer.key | kubectl apply -f -
///
/// Nothing is printed unless every check passed: values, the issuer against the anchors (signed by them, a CA,
/// matching its key, valid for 60 days more) and the injection strategies (never both).
public struct InstallCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Print the control plane's Kubernetes objects (YAML) for kubectl apply.",
        discussion: """
            Values are the lattice-control-plane chart's (charts/lattice-control-plane/values.yaml) and merge as Helm
            merges them: the chart's defaults, values-ha.yaml with --ha, each -f file in order, then --set,
            --set-string and --set-file. The credential flags are the same as
              --set-file identityTrustAnchorsPEM=ca.crt --set-file identity.issuer.tls.crtPEM=issuer.crt \\
              --set-file identity.issuer.tls.keyPEM=issuer.key
            """
    )

    @Option(help: "Trust anchors (PEM): the runbook's ca.crt.")
    var identityTrustAnchorsFile: String?

    @Option(help: "Issuer certificate (PEM): the runbook's issuer.crt.")
    var identityIssuerCertificateFile: String?

    @Option(help: "Issuer private key (PEM, ECDSA P-256): the runbook's issuer.key.")
    var identityIssuerKeyFile: String?

    @Option(name: [.customShort("f"), .customLong("values")], help: "A values file (repeatable; later files win).")
    var valuesFiles: [String] = []

    @Option(name: .customLong("set"), help: "Set values (KEY=VALUE[,KEY=VALUE]; Helm's --set syntax; repeatable).")
    var set: [String] = []

    @Option(name: .customLong("set-string"), help: "Set string values (repeatable).")
    var setString: [String] = []

    @Option(name: .customLong("set-file"), help: "Set a value to a file's content (KEY=PATH; repeatable).")
    var setFile: [String] = []

    @Flag(help: "High availability: the chart's values-ha.yaml (3 controller replicas, a PodDisruptionBudget, webhook failurePolicy Fail).")
    var ha = false

    @Option(help: "The control plane's namespace.")
    var namespace: String = "lattice"

    public init() {}

    public func run() async throws {
        print(try await self.render(now: Date()), terminator: "")
    }

    /// The YAML stream, or an error naming the problem and its fix (nothing partial).
    public func render(now: Date) async throws -> String {
        let install = ControlPlaneInstall(
            layers: ValuesLayers(files: self.valuesFiles, set: self.set, setString: self.setString, setFile: self.setFile),
            highAvailability: self.ha,
            namespace: self.namespace,
            trustAnchorsFile: self.identityTrustAnchorsFile,
            issuerCertificateFile: self.identityIssuerCertificateFile,
            issuerKeyFile: self.identityIssuerKeyFile
        )
        do {
            return try await install.render(now: now).yaml
        } catch {
            throw CLIError("lattice install: \(error.reason)")
        }
    }
}
