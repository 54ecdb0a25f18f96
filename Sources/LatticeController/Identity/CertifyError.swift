import LatticeIdentity

/// Why a Certify call was refused: a closed set, each mapped to one gRPC status and one metric label.
public struct CertifyError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Status: Hashable, Sendable {
        case unauthenticated
        case permissionDenied
        case invalidArgument
        case resourceExhausted
        case unavailable
        case internalError
    }

    /// The gRPC status class.
    public let status: Status
    /// The snake_case reason: the `result` metric label and the `lattice-identity-error` trailer.
    public let label: String
    public let reason: String

    public init(status: Status, label: String, reason: String) {
        self.status = status
        self.label = label
        self.reason = reason
    }

    public var description: String { "\(self.label): \(self.reason)" }

    static func from(_ error: IdentityError) -> CertifyError {
        switch error.code {
        case .malformedCSR, .csrTooLarge, .csrSignatureInvalid, .unsupportedKey, .wrongSAN, .multipleSANs:
            return CertifyError(status: .invalidArgument, label: error.code.label, reason: error.reason)
        case .expired, .notYetValid:
            return CertifyError(status: .unavailable, label: "issuer_unavailable", reason: error.reason)
        default:
            return CertifyError(status: .internalError, label: "internal", reason: error.reason)
        }
    }
}
