import ArgumentParser
import FoundationEssentials
import LatticeIdentity
import LatticeModel

extension CertificateProfile: ExpressibleByArgument {}

/// `lattice certs create SUBJECT CERT KEY --profile …`: `step certificate create` with the runbook's flags.
public struct CertsCreateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a trust anchor, an issuer or a workload certificate (ECDSA P-256).",
        discussion: """
            The runbook's Step 2, with lattice in place of step:
              lattice certs create root.linkerd.cluster.local ca.crt ca.key --profile root-ca --no-password --insecure
              lattice certs create identity.linkerd.cluster.local issuer.crt issuer.key --profile intermediate-ca \\
                --not-after 8760h --no-password --insecure --ca ca.crt --ca-key ca.key
            Keys are written 0600 and never overwritten without --force.
            """
    )

    @Argument(help: "Subject common name (for --profile leaf: the workload identity).")
    var subject: String

    @Argument(help: "Where to write the certificate (PEM).")
    var certificateFile: String

    @Argument(help: "Where to write the private key (PEM, unencrypted, mode 0600).")
    var keyFile: String

    @Option(help: "root-ca, intermediate-ca or leaf.")
    var profile: CertificateProfile = .leaf

    @Option(help: "The signing CA's certificate (intermediate-ca and leaf).")
    var ca: String?

    @Option(help: "The signing CA's private key.")
    var caKey: String?

    @Option(help: "Expiry: a duration (8760h) or an RFC 3339 time. Defaults: root 10y, issuer 1y, leaf 24h.")
    var notAfter: String?

    @Option(help: "An extra identity SAN (leaf only; repeatable).")
    var san: [String] = []

    @Flag(help: "Write the key without a password (required: Lattice keys are mounted unencrypted).")
    var noPassword = false

    @Flag(help: "Acknowledge writing an unencrypted key (required with --no-password, as with step).")
    var insecure = false

    @Flag(help: "Overwrite existing files.")
    var force = false

    @Option(help: "Trust domain (leaf identities).")
    var trustDomain: String = "cluster.local"

    @Option(help: "Control-plane namespace (leaf identities).")
    var controlPlaneNamespace: String = "lattice"

    public init() {}

    public func validate() throws {
        if !self.noPassword {
            throw ValidationError(
                "Lattice writes unencrypted keys (they are mounted into pods): pass --no-password --insecure"
            )
        }
        if !self.insecure {
            throw ValidationError("--no-password requires --insecure")
        }
    }

    public func run() throws {
        let domain: IdentityDomain
        do {
            domain = try IdentityDomain(controlPlaneNamespace: self.controlPlaneNamespace, trustDomain: self.trustDomain)
        } catch {
            throw ValidationError(error.reason)
        }
        let request = CertificateRequest(
            subject: self.subject,
            certificatePath: self.certificateFile,
            keyPath: self.keyFile,
            profile: self.profile,
            caPath: self.ca,
            caKeyPath: self.caKey,
            notAfter: self.notAfter,
            sans: self.san,
            force: self.force,
            domain: domain
        )
        do {
            let certificate = try request.run(now: Date())
            print("Your certificate has been saved in \(self.certificateFile).")
            print("Your private key has been saved in \(self.keyFile).")
            print("  subject: \(certificate.subject)  expires: \(certificate.notValidAfter.formatted(.iso8601))")
        } catch {
            throw CLIError(error.reason)
        }
    }
}
