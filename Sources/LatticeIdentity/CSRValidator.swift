import Crypto
import FoundationEssentials
import LatticeModel
import SwiftASN1
import X509

/// Checks a workload's certificate signing request before the CA signs it.
///
/// A CSR is accepted only when it is well-formed DER, no larger than ``maxSize``, self-signed by the key it carries,
/// that key is ECDSA P-256, and it names exactly one SAN: the DNS identity asked for. The CA adds the SPIFFE URI
/// itself, so a CSR never chooses what else the certificate says.
public struct CSRValidator: Sendable {
    /// The largest CSR accepted, in bytes (a proxy's P-256 CSR is about 300).
    public var maxSize: Int

    public init(maxSize: Int = 4096) {
        self.maxSize = maxSize
    }

    /// Validates `der` for `identity` and returns the public key to certify.
    ///
    /// - Throws: ``IdentityError`` with code `csrTooLarge`, `malformedCSR`, `csrSignatureInvalid`,
    ///   `unsupportedKey`, `wrongSAN` or `multipleSANs`.
    public func validate(der: [UInt8], for identity: WorkloadIdentity) throws(IdentityError) -> Certificate.PublicKey {
        guard der.count <= self.maxSize else {
            throw IdentityError(.csrTooLarge, "the CSR is \(der.count) bytes; at most \(self.maxSize) are accepted")
        }
        guard !der.isEmpty else {
            throw IdentityError(.malformedCSR, "the CSR is empty")
        }
        let csr: CertificateSigningRequest
        do {
            csr = try CertificateSigningRequest(derEncoded: der)
        } catch {
            throw IdentityError(.malformedCSR, "the CSR is not a valid DER PKCS#10 request")
        }
        guard P256.Signing.PublicKey(csr.publicKey) != nil else {
            throw IdentityError(
                .unsupportedKey,
                "the CSR's key is \(KeyLoader.keyTypeName(of: csr.publicKey)); only ECDSA P-256 is accepted"
            )
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw IdentityError(.csrSignatureInvalid, "the CSR's signature does not verify with its own key")
        }
        let names: [GeneralName]
        do {
            if let sans = try csr.attributes.extensionRequest?.extensions.subjectAlternativeNames {
                names = Array(sans)
            } else {
                names = []
            }
        } catch {
            throw IdentityError(.malformedCSR, "the CSR's extension request cannot be parsed")
        }
        guard names.count <= 1 else {
            throw IdentityError(
                .multipleSANs,
                "the CSR carries \(names.count) SANs; exactly one is allowed: the DNS identity \(identity.name)"
            )
        }
        guard let name = names.first, case .dnsName(let dns) = name else {
            throw IdentityError(.wrongSAN, "the CSR must carry the DNS SAN \(identity.name)")
        }
        guard dns.lowercased() == identity.name else {
            throw IdentityError(.wrongSAN, "the CSR asks for '\(dns)' but the identity is '\(identity.name)'")
        }
        return csr.publicKey
    }
}

/// Makes a CSR for `identity` with `key` (what a proxy sends).
public enum CSRBuilder {
    public static func make(identity: String, key: P256.Signing.PrivateKey) throws -> [UInt8] {
        let extensions = try Certificate.Extensions {
            SubjectAlternativeNames([.dnsName(identity)])
        }
        let csr = try CertificateSigningRequest(
            version: .v1,
            subject: DistinguishedName(),
            privateKey: Certificate.PrivateKey(key),
            attributes: try CertificateSigningRequest.Attributes([.init(ExtensionRequest(extensions: extensions))])
        )
        var serializer = DER.Serializer()
        try serializer.serialize(csr)
        return serializer.serializedBytes
    }
}
