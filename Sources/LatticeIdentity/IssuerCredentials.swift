import Crypto
import FoundationEssentials
import X509

/// A validated issuer: the intermediate CA that signs workload certificates, its key, any further chain, and the
/// trust anchors it chains to.
///
/// Only ``load(certificatePath:keyPath:anchorsPath:now:)`` and ``validate(certificates:key:anchors:source:now:)``
/// make one, so an `IssuerCredentials` in hand has passed every check: P-256 key matching the certificate, a CA,
/// valid now, and chaining to one of the anchors.
public struct IssuerCredentials: Sendable {
    /// The issuer certificate.
    public let certificate: Certificate
    /// Certificates between the issuer and the anchor, if `tls.crt` carried any.
    public let chain: [Certificate]
    public let key: P256.Signing.PrivateKey
    public let anchors: TrustBundle

    public var factoryIssuer: CertificateFactory.Issuer {
        CertificateFactory.Issuer(certificate: self.certificate, key: self.key)
    }

    /// Loads the issuer from files (a `kubernetes.io/tls` Secret's `tls.crt`, `tls.key` and `ca.crt`, or the
    /// runbook's `issuer.crt`, `issuer.key` and `ca.crt`) and validates it.
    public static func load(
        certificatePath: String,
        keyPath: String,
        anchorsPath: String,
        now: Date
    ) async throws(IdentityError) -> IssuerCredentials {
        let certificates = try CertificateLoader.certificates(path: certificatePath)
        let key = try KeyLoader.p256PrivateKey(path: keyPath)
        let anchors = try TrustBundle.load(path: anchorsPath)
        return try await self.validate(
            certificates: certificates,
            key: key,
            anchors: anchors,
            source: certificatePath,
            now: now
        )
    }

    /// Validates an issuer given as parsed values.
    public static func validate(
        certificates: [Certificate],
        key: P256.Signing.PrivateKey,
        anchors: TrustBundle,
        source: String,
        now: Date
    ) async throws(IdentityError) -> IssuerCredentials {
        guard let issuer = certificates.first else {
            throw IdentityError(.malformedCertificate, "\(source): no issuer certificate")
        }
        guard P256.Signing.PublicKey(issuer.publicKey) != nil else {
            throw IdentityError(
                .unsupportedKey,
                "\(source): the issuer has a \(KeyLoader.keyTypeName(of: issuer.publicKey)) key; Lattice needs ECDSA P-256"
            )
        }
        guard KeyLoader.matches(key, issuer) else {
            throw IdentityError(.keyMismatch, "\(source): the issuer key does not match the issuer certificate")
        }
        guard issuer.caConstraint.isCA else {
            throw IdentityError(.notACertificateAuthority, "\(source): '\(issuer.subject)' is not a CA (CA:FALSE)")
        }
        let chain = Array(certificates.dropFirst()).filter { candidate in
            !anchors.anchors.contains(candidate)
        }
        switch await ChainVerifier.verify(leaf: issuer, intermediates: chain, anchors: anchors, now: now) {
        case .valid:
            return IssuerCredentials(certificate: issuer, chain: chain, key: key, anchors: anchors)
        case .invalid(let error):
            throw IdentityError(error.code, "\(source): \(error.reason)")
        }
    }
}
