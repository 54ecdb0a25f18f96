import Crypto
import FoundationEssentials
import LatticeIdentity
import LatticeModel
import X509

/// Makes a mesh's certificates in memory for tests: a trust anchor, an issuer and leaves, from keys generated on
/// every run, with validity relative to ``referenceTime`` so nothing can rot.
public struct CertFactory: Sendable {
    public let referenceTime: Date
    public let anchorKey: P256.Signing.PrivateKey
    public let anchor: Certificate
    public let issuerKey: P256.Signing.PrivateKey
    public let issuer: Certificate

    public init(
        referenceTime: Date = Date(),
        anchorName: String = "root.lattice.test",
        issuerName: String = "identity.lattice.test",
        issuerLifetime: Double = 365 * 86_400
    ) throws {
        self.referenceTime = referenceTime
        self.anchorKey = P256.Signing.PrivateKey()
        self.anchor = try CertificateFactory.makeRoot(
            commonName: anchorName,
            key: self.anchorKey,
            notBefore: referenceTime - 3600,
            notAfter: referenceTime + 10 * 365 * 86_400
        )
        self.issuerKey = P256.Signing.PrivateKey()
        self.issuer = try CertificateFactory.makeIntermediate(
            commonName: issuerName,
            publicKey: self.issuerKey.publicKey,
            issuer: .init(certificate: self.anchor, key: self.anchorKey),
            notBefore: referenceTime - 3600,
            notAfter: referenceTime + issuerLifetime,
            now: referenceTime
        )
    }

    public var bundle: TrustBundle { try! TrustBundle(anchors: [self.anchor]) }

    /// A second issuer under the same anchor (for rotation tests).
    public func makeIssuer(
        name: String = "identity-renewed.lattice.test",
        notBefore: Date? = nil,
        notAfter: Date? = nil
    ) throws -> (certificate: Certificate, key: P256.Signing.PrivateKey) {
        let key = P256.Signing.PrivateKey()
        let certificate = try CertificateFactory.makeIntermediate(
            commonName: name,
            publicKey: key.publicKey,
            issuer: .init(certificate: self.anchor, key: self.anchorKey),
            notBefore: notBefore ?? self.referenceTime - 3600,
            notAfter: notAfter ?? self.referenceTime + 365 * 86_400,
            now: self.referenceTime
        )
        return (certificate, key)
    }

    public func issuerCredentials() async throws -> IssuerCredentials {
        try await IssuerCredentials.validate(
            certificates: [self.issuer],
            key: self.issuerKey,
            anchors: self.bundle,
            source: "test issuer",
            now: self.referenceTime
        )
    }

    public static func identity(_ serviceAccount: String, _ namespace: String = "default") -> WorkloadIdentity {
        try! WorkloadIdentity(serviceAccount: serviceAccount, namespace: namespace)
    }

    /// Writes anchor, issuer and issuer key as a Secret-shaped directory (tls.crt, tls.key, ca.crt).
    public func writeSecret(to directory: String) throws {
        try TestFiles.write(CertificateLoader.pem([self.issuer]), to: "\(directory)/tls.crt")
        try TestFiles.write(self.issuerKey.pemRepresentation, to: "\(directory)/tls.key")
        try TestFiles.write(CertificateLoader.pem([self.anchor]), to: "\(directory)/ca.crt")
    }
}
