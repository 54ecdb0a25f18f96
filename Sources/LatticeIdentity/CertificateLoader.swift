import FoundationEssentials
import SwiftASN1
import X509

/// Reads certificates from PEM, with errors that name the file and the block.
public enum CertificateLoader {
    /// Every `CERTIFICATE` block of `pem`, in file order.
    ///
    /// - Throws: ``IdentityError/Code/malformedPEM`` or ``IdentityError/Code/malformedCertificate``.
    public static func certificates(pem: String, source: String) throws(IdentityError) -> [Certificate] {
        let blocks = try PEMDocument.blocks(in: pem, source: source).filter { $0.label == "CERTIFICATE" }
        guard !blocks.isEmpty else {
            throw IdentityError(.malformedCertificate, "\(source): no CERTIFICATE block in the file")
        }
        var certificates: [Certificate] = []
        for (index, block) in blocks.enumerated() {
            do {
                certificates.append(try Certificate(derEncoded: block.der))
            } catch {
                throw IdentityError(
                    .malformedCertificate,
                    "\(source): certificate #\(index + 1) is not a valid X.509 certificate (\(error))"
                )
            }
        }
        return certificates
    }

    /// Every certificate in the file at `path`.
    public static func certificates(path: String) throws(IdentityError) -> [Certificate] {
        try self.certificates(pem: try PEMDocument.readText(path: path), source: path)
    }

    /// PEM for a list of certificates.
    public static func pem(_ certificates: [Certificate]) -> String {
        certificates.map { PEMDocument.encode(label: "CERTIFICATE", der: $0.derBytes) }.joined()
    }
}

extension Certificate {
    /// The DER encoding.
    public var derBytes: [UInt8] {
        var serializer = DER.Serializer()
        // Serialising a parsed or built certificate cannot fail.
        try! serializer.serialize(self)
        return serializer.serializedBytes
    }

    /// The DNS names among the certificate's SANs.
    public var dnsNames: [String] {
        guard let sans = try? self.extensions.subjectAlternativeNames else { return [] }
        return sans.compactMap { if case .dnsName(let name) = $0 { return name } else { return nil } }
    }

    /// The URIs among the certificate's SANs.
    public var uris: [String] {
        guard let sans = try? self.extensions.subjectAlternativeNames else { return [] }
        return sans.compactMap { if case .uniformResourceIdentifier(let uri) = $0 { return uri } else { return nil } }
    }

    /// Whether basicConstraints marks it a CA, and its path length constraint.
    public var caConstraint: (isCA: Bool, maxPathLength: Int?) {
        guard let constraints = try? self.extensions.basicConstraints else { return (false, nil) }
        switch constraints {
        case .isCertificateAuthority(let pathLength): return (true, pathLength)
        case .notCertificateAuthority: return (false, nil)
        }
    }
}
