/// An error from the identity layer: loading, making, verifying or signing certificates.
///
/// Shaped as swift-certificates' `CertificateError`: a ``Code`` to branch on (equality and hashing use it alone, so a
/// test can build the expected error), and a human reason that names the file or field and the fault.
public struct IdentityError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: String, Hashable, Sendable {
            case unreadableFile = "unreadable_file"
            case malformedPEM = "malformed_pem"
            case malformedCertificate = "malformed_certificate"
            case malformedKey = "malformed_key"
            case unsupportedKey = "unsupported_key"
            case keyMismatch = "key_mismatch"
            case notACertificateAuthority = "not_a_ca"
            case pathLengthExceeded = "path_length_exceeded"
            case expired = "expired"
            case notYetValid = "not_yet_valid"
            case untrusted = "untrusted"
            case invalidName = "invalid_name"
            case fileExists = "file_exists"
            case writeFailed = "write_failed"
            case invalidArgument = "invalid_argument"
            case malformedCSR = "malformed_csr"
            case csrTooLarge = "csr_too_large"
            case csrSignatureInvalid = "csr_signature_invalid"
            case wrongSAN = "wrong_san"
            case multipleSANs = "multiple_sans"
            case identityMismatch = "identity_mismatch"
        }
        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        public static let unreadableFile = Code(.unreadableFile)
        public static let malformedPEM = Code(.malformedPEM)
        public static let malformedCertificate = Code(.malformedCertificate)
        public static let malformedKey = Code(.malformedKey)
        /// Not an ECDSA P-256 key (RSA, P-384, Ed25519…).
        public static let unsupportedKey = Code(.unsupportedKey)
        public static let keyMismatch = Code(.keyMismatch)
        public static let notACertificateAuthority = Code(.notACertificateAuthority)
        public static let pathLengthExceeded = Code(.pathLengthExceeded)
        public static let expired = Code(.expired)
        public static let notYetValid = Code(.notYetValid)
        public static let untrusted = Code(.untrusted)
        public static let invalidName = Code(.invalidName)
        public static let fileExists = Code(.fileExists)
        public static let writeFailed = Code(.writeFailed)
        public static let invalidArgument = Code(.invalidArgument)
        public static let malformedCSR = Code(.malformedCSR)
        public static let csrTooLarge = Code(.csrTooLarge)
        public static let csrSignatureInvalid = Code(.csrSignatureInvalid)
        /// The CSR's SAN is not the identity asked for.
        public static let wrongSAN = Code(.wrongSAN)
        /// The CSR carries more than the one DNS SAN allowed.
        public static let multipleSANs = Code(.multipleSANs)
        /// The identity asked for is not the one the token proves.
        public static let identityMismatch = Code(.identityMismatch)

        /// A short snake_case name, usable as a metric label value.
        public var label: String { self.backing.rawValue }
        public var description: String { self.backing.rawValue }
    }

    public let code: Code
    public let reason: String
    public let file: String
    public let line: Int

    public init(_ code: Code, _ reason: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String { self.reason }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}
