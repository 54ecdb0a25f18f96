import Crypto
import FoundationEssentials
import LatticeModel
import SwiftASN1
import X509

/// Makes certificates of the three ``CertificateProfile``s.
///
/// Every certificate is ECDSA P-256 with SHA-256, carries a random 20-byte serial, a subject key identifier and
/// (when not self-signed) an authority key identifier, so `openssl verify` and BoringSSL build chains by key id.
/// The issuer is checked before signing: it must be a CA whose path length allows the new certificate, valid now,
/// and matched by the key; the new certificate never outlives its issuer.
public enum CertificateFactory {
    /// What a certificate is issued by: its certificate and signing key.
    public struct Issuer: Sendable {
        public let certificate: Certificate
        public let key: P256.Signing.PrivateKey
        public init(certificate: Certificate, key: P256.Signing.PrivateKey) {
            self.certificate = certificate
            self.key = key
        }
    }

    /// A self-signed trust anchor.
    public static func makeRoot(
        commonName: String,
        key: P256.Signing.PrivateKey,
        notBefore: Date,
        notAfter: Date
    ) throws(IdentityError) -> Certificate {
        let publicKey = Certificate.PublicKey(key.publicKey)
        let name = try self.distinguishedName(commonName)
        return try self.build {
            try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: publicKey,
                notValidBefore: notBefore,
                notValidAfter: notAfter,
                issuer: name,
                subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: CertificateProfile.rootCA.maxPathLength))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: publicKey)
                },
                issuerPrivateKey: Certificate.PrivateKey(key)
            )
        }
    }

    /// An intermediate CA (the issuer that signs workload certificates).
    public static func makeIntermediate(
        commonName: String,
        publicKey: P256.Signing.PublicKey,
        issuer: Issuer,
        notBefore: Date,
        notAfter: Date,
        now: Date
    ) throws(IdentityError) -> Certificate {
        try self.checkIssuer(issuer, canIssueCA: true, now: now)
        let subjectKey = Certificate.PublicKey(publicKey)
        let name = try self.distinguishedName(commonName)
        let notAfter = min(notAfter, issuer.certificate.notValidAfter)
        return try self.build {
            try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: subjectKey,
                notValidBefore: notBefore,
                notValidAfter: notAfter,
                issuer: issuer.certificate.subject,
                subject: name,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(
                        BasicConstraints.isCertificateAuthority(
                            maxPathLength: CertificateProfile.intermediateCA.maxPathLength
                        )
                    )
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: subjectKey)
                    AuthorityKeyIdentifier(keyIdentifier: self.keyIdentifier(of: issuer.certificate))
                },
                issuerPrivateKey: Certificate.PrivateKey(issuer.key)
            )
        }
    }

    /// A workload (end-entity) certificate for `identity`: its DNS name and SPIFFE URI as SANs, plus any
    /// `extraDNSNames`.
    public static func makeLeaf(
        identity: WorkloadIdentity,
        extraDNSNames: [String] = [],
        publicKey: Certificate.PublicKey,
        issuer: Issuer,
        notBefore: Date,
        notAfter: Date,
        now: Date
    ) throws(IdentityError) -> Certificate {
        try self.checkIssuer(issuer, canIssueCA: false, now: now)
        var names: [GeneralName] = [.dnsName(identity.name)]
        names += extraDNSNames.filter { $0 != identity.name }.map { GeneralName.dnsName($0) }
        names.append(.uniformResourceIdentifier(identity.spiffeID))
        let notAfter = min(notAfter, issuer.certificate.notValidAfter)
        // X.520 caps a common name at 64 characters and identities are often longer: those leaves carry an empty
        // subject, which RFC 5280 allows when the SAN extension is critical (it always is here).
        let subject = identity.name.utf8.count <= 64 ? try self.distinguishedName(identity.name) : DistinguishedName()
        return try self.build {
            try Certificate(
                version: .v3,
                serialNumber: Certificate.SerialNumber(),
                publicKey: publicKey,
                notValidBefore: notBefore,
                notValidAfter: notAfter,
                issuer: issuer.certificate.subject,
                subject: subject,
                signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true))
                    try ExtendedKeyUsage([.serverAuth, .clientAuth])
                    SubjectKeyIdentifier(hash: publicKey)
                    AuthorityKeyIdentifier(keyIdentifier: self.keyIdentifier(of: issuer.certificate))
                    Critical(SubjectAlternativeNames(names))
                },
                issuerPrivateKey: Certificate.PrivateKey(issuer.key)
            )
        }
    }

    /// Checks that `issuer` may sign a certificate now.
    static func checkIssuer(_ issuer: Issuer, canIssueCA: Bool, now: Date) throws(IdentityError) {
        let certificate = issuer.certificate
        let name = certificate.subject.description
        let constraint = certificate.caConstraint
        guard constraint.isCA else {
            throw IdentityError(.notACertificateAuthority, "the issuer '\(name)' is not a CA (basicConstraints CA:FALSE)")
        }
        if let usage = try? certificate.extensions.keyUsage, !usage.keyCertSign {
            throw IdentityError(.notACertificateAuthority, "the issuer '\(name)' lacks the keyCertSign key usage")
        }
        if canIssueCA, let pathLength = constraint.maxPathLength, pathLength < 1 {
            throw IdentityError(
                .pathLengthExceeded,
                "the issuer '\(name)' has pathlen \(pathLength): it cannot sign another CA (use the root as --ca)"
            )
        }
        guard KeyLoader.matches(issuer.key, certificate) else {
            throw IdentityError(.keyMismatch, "the issuer key does not match the issuer certificate '\(name)'")
        }
        try ValidityWindow.check(certificate, at: now, role: "the issuer")
    }

    static func keyIdentifier(of certificate: Certificate) -> ArraySlice<UInt8> {
        if let ski = try? certificate.extensions.subjectKeyIdentifier {
            return ski.keyIdentifier
        }
        return SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier
    }

    static func distinguishedName(_ commonName: String) throws(IdentityError) -> DistinguishedName {
        guard !commonName.isEmpty, commonName.utf8.count <= 64 else {
            throw IdentityError(.invalidName, "subject '\(commonName)' must be 1–64 characters")
        }
        do {
            return try DistinguishedName { CommonName(commonName) }
        } catch {
            throw IdentityError(.invalidName, "subject '\(commonName)' is not a valid common name: \(error)")
        }
    }

    private static func build(_ body: () throws -> Certificate) throws(IdentityError) -> Certificate {
        do {
            return try body()
        } catch let error as IdentityError {
            throw error
        } catch {
            throw IdentityError(.invalidArgument, "cannot build the certificate: \(error)")
        }
    }
}

/// Checks a certificate's validity window with errors that say which end is wrong and by how much.
public enum ValidityWindow {
    public static func check(_ certificate: Certificate, at now: Date, role: String) throws(IdentityError) {
        let name = certificate.subject.description
        if now > certificate.notValidAfter {
            throw IdentityError(
                .expired,
                "\(role) '\(name)' expired at \(certificate.notValidAfter.formatted(.iso8601))"
            )
        }
        if now < certificate.notValidBefore {
            throw IdentityError(
                .notYetValid,
                "\(role) '\(name)' is not valid before \(certificate.notValidBefore.formatted(.iso8601))"
            )
        }
    }
}
