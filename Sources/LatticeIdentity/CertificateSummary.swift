import Crypto
import FoundationEssentials
import X509

/// What an operator wants to know about a certificate, for `lattice certs inspect` and `lattice check`.
public struct CertificateSummary: Sendable, Codable, Hashable {
    public let subject: String
    public let issuer: String
    public let dnsNames: [String]
    public let uris: [String]
    public let serial: String
    public let keyType: String
    public let isCA: Bool
    public let maxPathLength: Int?
    public let notBefore: Date
    public let notAfter: Date
    /// Seconds left until notAfter (negative once expired).
    public let secondsLeft: Int64
    /// SHA-256 over the DER encoding, hex, colon-separated (as `openssl x509 -fingerprint -sha256`).
    public let sha256Fingerprint: String

    public init(_ certificate: Certificate, now: Date) {
        self.subject = certificate.subject.description
        self.issuer = certificate.issuer.description
        self.dnsNames = certificate.dnsNames
        self.uris = certificate.uris
        self.serial = certificate.serialNumber.bytes.map { Self.hex($0) }.joined(separator: ":")
        self.keyType = KeyLoader.keyTypeName(of: certificate.publicKey)
        let constraint = certificate.caConstraint
        self.isCA = constraint.isCA
        self.maxPathLength = constraint.maxPathLength
        self.notBefore = certificate.notValidBefore
        self.notAfter = certificate.notValidAfter
        self.secondsLeft = Int64(certificate.notValidAfter.timeIntervalSince(now).rounded(.down))
        self.sha256Fingerprint = SHA256.hash(data: certificate.derBytes).map { Self.hex($0) }.joined(separator: ":")
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
    }
}
