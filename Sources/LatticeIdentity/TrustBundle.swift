import Crypto
import FoundationEssentials
import SwiftASN1
import X509

/// The trust anchors a mesh accepts: one or more root certificates.
///
/// A bundle may hold several anchors so an anchor can be rotated without downtime: add the new one, roll the
/// issuer, then remove the old one.
public struct TrustBundle: Sendable, Hashable {
    public let anchors: [Certificate]

    /// - Throws: ``IdentityError/Code/notACertificateAuthority`` when an anchor is not a CA.
    public init(anchors: [Certificate], source: String = "trust bundle") throws(IdentityError) {
        guard !anchors.isEmpty else {
            throw IdentityError(.malformedCertificate, "\(source): the trust bundle holds no certificate")
        }
        for (index, anchor) in anchors.enumerated() where !anchor.caConstraint.isCA {
            throw IdentityError(
                .notACertificateAuthority,
                "\(source): certificate #\(index + 1) ('\(anchor.subject)') is not a CA and cannot be a trust anchor"
            )
        }
        self.anchors = anchors
    }

    /// Reads a PEM bundle.
    public static func load(path: String) throws(IdentityError) -> TrustBundle {
        try TrustBundle(anchors: try CertificateLoader.certificates(path: path), source: path)
    }

    public static func parse(pem: String, source: String) throws(IdentityError) -> TrustBundle {
        try TrustBundle(anchors: try CertificateLoader.certificates(pem: pem, source: source), source: source)
    }

    public var pem: String { CertificateLoader.pem(self.anchors) }
}

extension TrustBundle {
    /// SHA-256 over the anchors' DER, in order, as lowercase hex: the same bundle gives the same digest however its PEM
    /// is laid out. The injector stamps it on each pod (`lattice.io/trust-anchors-sha256`) and `lattice check`
    /// compares it with the bundle in force, to list the pods started before an anchor rotation.
    public var digest: String {
        var hash = SHA256()
        for anchor in self.anchors {
            var serializer = DER.Serializer()
            // A parsed certificate always serializes back.
            try? serializer.serialize(anchor)
            hash.update(data: serializer.serializedBytes)
        }
        return hash.finalize().map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
