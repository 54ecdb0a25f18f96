import ArgumentParser
import FoundationEssentials
import LatticeIdentity
import X509

/// `lattice certs verify --anchors BUNDLE CHAIN`: checks a chain as proxies will.
public struct CertsVerifyCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a certificate chain (leaf first, then intermediates) against the trust anchors."
    )

    @Option(help: "Trust anchors bundle (PEM).")
    var anchors: String

    @Argument(help: "The chain to verify: its first certificate is checked, the rest are intermediates.")
    var chain: String

    @Option(help: "The identity (DNS SAN) the certificate must carry.")
    var identity: String?

    @Option(help: "Extra intermediates file (e.g. issuer.crt when CHAIN holds only the leaf).")
    var intermediates: String?

    public init() {}

    public func run() async throws {
        let bundle: TrustBundle
        var certificates: [Certificate]
        do {
            bundle = try TrustBundle.load(path: self.anchors)
            certificates = try CertificateLoader.certificates(path: self.chain)
            if let intermediates = self.intermediates {
                certificates += try CertificateLoader.certificates(path: intermediates)
            }
        } catch {
            throw CLIError(error.reason)
        }
        let leaf = certificates[0]
        let verdict = await ChainVerifier.verify(
            leaf: leaf,
            intermediates: Array(certificates.dropFirst()),
            anchors: bundle,
            expectedIdentity: self.identity,
            now: Date()
        )
        switch verdict {
        case .valid(let path):
            print("✓ \(self.chain): valid: " + path.map { "'\($0.subject)'" }.joined(separator: " → "))
        case .invalid(let error):
            throw CLIError("\(self.chain): \(error.reason)")
        }
    }
}
