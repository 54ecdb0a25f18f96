import Crypto
import FoundationEssentials
import LatticeIdentity
import LatticeModel
import X509

/// What `lattice certs create` is asked to make, checked and carried out apart from argument parsing so tests can
/// drive it directly.
public struct CertificateRequest: Sendable {
    public var subject: String
    public var certificatePath: String
    public var keyPath: String
    public var profile: CertificateProfile
    public var caPath: String?
    public var caKeyPath: String?
    /// A duration (`8760h`) or an RFC 3339 time.
    public var notAfter: String?
    public var sans: [String]
    public var force: Bool
    public var domain: IdentityDomain

    public init(
        subject: String,
        certificatePath: String,
        keyPath: String,
        profile: CertificateProfile,
        caPath: String? = nil,
        caKeyPath: String? = nil,
        notAfter: String? = nil,
        sans: [String] = [],
        force: Bool = false,
        domain: IdentityDomain = .default
    ) {
        self.subject = subject
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.profile = profile
        self.caPath = caPath
        self.caKeyPath = caKeyPath
        self.notAfter = notAfter
        self.sans = sans
        self.force = force
        self.domain = domain
    }

    /// CA certificates start a minute in the past (as `step` does), so a chain made within one second verifies and
    /// a node whose clock is a little behind accepts it.
    static let caBackdate: Double = 60

    /// Makes the key and certificate and writes both files, or neither.
    ///
    /// - Returns: the certificate written.
    /// - Throws: ``IdentityError`` naming the file and the fault; nothing is written then.
    @discardableResult
    public func run(now: Date) throws(IdentityError) -> Certificate {
        if !self.force {
            for path in [self.certificatePath, self.keyPath] where FileManager.default.fileExists(atPath: path) {
                throw IdentityError(.fileExists, "\(path) already exists; pass --force to overwrite it")
            }
        }
        guard self.certificatePath != self.keyPath else {
            throw IdentityError(.invalidArgument, "the certificate and the key must go to different files")
        }
        let notAfter = try self.resolveNotAfter(now: now)
        guard notAfter > now else {
            throw IdentityError(.invalidArgument, "--not-after \(self.notAfter ?? "") is in the past")
        }
        let key = P256.Signing.PrivateKey()
        let certificate: Certificate
        switch self.profile {
        case .rootCA:
            if self.caPath != nil || self.caKeyPath != nil {
                throw IdentityError(.invalidArgument, "--profile root-ca is self-signed: drop --ca and --ca-key")
            }
            certificate = try CertificateFactory.makeRoot(
                commonName: self.subject,
                key: key,
                notBefore: now - Self.caBackdate,
                notAfter: notAfter
            )
        case .intermediateCA:
            let issuer = try self.loadIssuer()
            certificate = try CertificateFactory.makeIntermediate(
                commonName: self.subject,
                publicKey: key.publicKey,
                issuer: issuer,
                notBefore: now - Self.caBackdate,
                notAfter: notAfter,
                now: now
            )
        case .leaf:
            let issuer = try self.loadIssuer()
            let identity: WorkloadIdentity
            do {
                identity = try WorkloadIdentity.parse(self.subject, domain: self.domain)
            } catch {
                throw IdentityError(.invalidName, "subject: \(error.reason)")
            }
            for san in self.sans {
                do {
                    _ = try WorkloadIdentity.parse(san, domain: self.domain)
                } catch {
                    throw IdentityError(.invalidName, "--san: \(error.reason)")
                }
            }
            certificate = try CertificateFactory.makeLeaf(
                identity: identity,
                extraDNSNames: self.sans,
                publicKey: Certificate.PublicKey(key.publicKey),
                issuer: issuer,
                notBefore: now - WellKnown.leafBackdate.timeInterval,
                notAfter: notAfter,
                now: now
            )
        }
        if self.profile != .leaf && !self.sans.isEmpty {
            throw IdentityError(.invalidArgument, "--san applies to --profile leaf only")
        }
        try SecureFileWriter.writePair(
            certificate: (self.certificatePath, CertificateLoader.pem([certificate])),
            key: (self.keyPath, key.pemRepresentation + "\n")
        )
        return certificate
    }

    private func loadIssuer() throws(IdentityError) -> CertificateFactory.Issuer {
        guard let caPath = self.caPath, let caKeyPath = self.caKeyPath else {
            throw IdentityError(
                .invalidArgument,
                "--profile \(self.profile.rawValue) is signed by a CA: give --ca CERT and --ca-key KEY"
            )
        }
        guard let certificate = try CertificateLoader.certificates(path: caPath).first else {
            throw IdentityError(.malformedCertificate, "\(caPath): no certificate")
        }
        let key = try KeyLoader.p256PrivateKey(path: caKeyPath)
        guard KeyLoader.matches(key, certificate) else {
            throw IdentityError(.keyMismatch, "\(caKeyPath) is not the key of \(caPath) ('\(certificate.subject)')")
        }
        guard certificate.caConstraint.isCA else {
            throw IdentityError(.notACertificateAuthority, "\(caPath): '\(certificate.subject)' is not a CA (CA:FALSE)")
        }
        return CertificateFactory.Issuer(certificate: certificate, key: key)
    }

    private func resolveNotAfter(now: Date) throws(IdentityError) -> Date {
        guard let text = self.notAfter else {
            return now + self.profile.defaultLifetime.timeInterval
        }
        if let duration = DurationText.parse(text) {
            return now + duration.timeInterval
        }
        if let date = try? Date(text, strategy: .iso8601) {
            return date
        }
        throw IdentityError(
            .invalidArgument,
            "--not-after '\(text)' is neither a duration (8760h, 720h, 30m) nor an RFC 3339 time (2027-01-01T00:00:00Z)"
        )
    }
}
