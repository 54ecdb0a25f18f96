import Crypto
import FoundationEssentials
import LatticeIdentity
import X509

/// Checks the trust anchors, issuer certificate and issuer key given to `lattice install` before anything is
/// rendered: the issuer must chain to the anchors, be a CA, match its key, and stay valid for at least
/// ``minimumValidity`` (60 days, what `lattice check` warns at), so a fresh install never starts on an issuer that is
/// about to stop signing.
///
/// The Helm chart cannot parse certificates (no x509 functions in Helm's template engine); it only requires the
/// three PEMs. The controller refuses an invalid issuer at start (`/ready` fails) and `lattice check` reports it.
public enum IssuerCheck {
    /// How long the issuer must stay valid.
    public static let minimumValidity: Duration = .seconds(60 * 86_400)

    /// What was checked, for a summary.
    public struct Verified: Sendable {
        public let issuer: CertificateSummary
        public let anchors: [CertificateSummary]
    }

    /// - Parameters:
    ///   - values: the merged install values holding the three PEMs.
    ///   - now: the time to check validity at.
    /// - Throws: ``ManifestsError`` with ``ManifestsError/Code/missingCredentials``,
    ///   ``ManifestsError/Code/invalidCredentials`` or ``ManifestsError/Code/issuerExpiresSoon``, naming the fault and
    ///   the `lattice certs` command that fixes it.
    public static func check(_ values: InstallValues, now: Date) async throws(ManifestsError) -> Verified {
        let missing = [
            ("identityTrustAnchorsPEM", values.identityTrustAnchorsPEM, "--identity-trust-anchors-file ca.crt"),
            ("identity.issuer.tls.crtPEM", values.issuerCertificatePEM, "--identity-issuer-certificate-file issuer.crt"),
            ("identity.issuer.tls.keyPEM", values.issuerKeyPEM, "--identity-issuer-key-file issuer.key"),
        ].filter { $0.1.trimmingSpaces.isEmpty || $0.1.allSatisfy(\.isWhitespace) }
        if !missing.isEmpty {
            throw ManifestsError(
                .missingCredentials,
                "no \(missing.map(\.0).joined(separator: ", ")): give \(missing.map(\.2).joined(separator: " ")) "
                    + "(make them with lattice certs create; see docs/runbook.md)"
            )
        }
        let anchors: TrustBundle
        let certificates: [Certificate]
        let key: P256.Signing.PrivateKey
        do {
            anchors = try TrustBundle.parse(pem: values.identityTrustAnchorsPEM, source: "identityTrustAnchorsPEM")
            certificates = try CertificateLoader.certificates(pem: values.issuerCertificatePEM, source: "identity.issuer.tls.crtPEM")
            key = try KeyLoader.p256PrivateKey(pem: values.issuerKeyPEM, source: "identity.issuer.tls.keyPEM")
        } catch {
            throw ManifestsError(.invalidCredentials, error.reason)
        }
        let credentials: IssuerCredentials
        do {
            credentials = try await IssuerCredentials.validate(
                certificates: certificates,
                key: key,
                anchors: anchors,
                source: "the issuer (identity.issuer.tls.crtPEM)",
                now: now
            )
        } catch {
            throw ManifestsError(.invalidCredentials, error.reason + "; " + self.fix(for: error.code))
        }
        let left = credentials.certificate.notValidAfter.timeIntervalSince(now)
        let minimum = Double(self.minimumValidity.components.seconds)
        if left < minimum {
            throw ManifestsError(
                .issuerExpiresSoon,
                "the issuer '\(credentials.certificate.subject)' expires at "
                    + "\(credentials.certificate.notValidAfter.formatted(.iso8601)), in \(Int(left / 86_400)) days; "
                    + "install needs at least \(Int(minimum / 86_400)) days. " + self.renew
            )
        }
        return Verified(
            issuer: CertificateSummary(credentials.certificate, now: now),
            anchors: anchors.anchors.map { CertificateSummary($0, now: now) }
        )
    }

    static let renew =
        "Make a new issuer: lattice certs create identity.lattice.cluster.local issuer.crt issuer.key "
        + "--profile intermediate-ca --not-after 8760h --no-password --insecure --ca ca.crt --ca-key ca.key"

    static func fix(for code: IdentityError.Code) -> String {
        switch code {
        case .keyMismatch:
            return "give the issuer.key that was written together with issuer.crt"
        case .notACertificateAuthority, .pathLengthExceeded:
            return "the issuer must be an intermediate CA (lattice certs create … --profile intermediate-ca)"
        case .untrusted:
            return "give the ca.crt the issuer was signed with, or sign a new issuer with --ca ca.crt --ca-key ca.key"
        case .unsupportedKey:
            return "Lattice issuers are ECDSA P-256 (lattice certs create makes them)"
        default:
            return self.renew
        }
    }
}
