import GRPCCore
import LatticeAPI
import LatticeIdentity
import SwiftProtobuf

/// The gRPC face of ``IdentityIssuer``: `lattice.identity.v1.Identity/Certify`.
///
/// A refusal becomes the gRPC status of its class, with the reason as the message and its code in the
/// `lattice-identity-error` trailer.
public struct IdentityGRPCService: Lattice_Identity_V1_Identity.SimpleServiceProtocol {
    public static let errorMetadataKey = "lattice-identity-error"

    private let issuer: IdentityIssuer

    public init(issuer: IdentityIssuer) {
        self.issuer = issuer
    }

    public func certify(
        request: Lattice_Identity_V1_CertifyRequest,
        context: ServerContext
    ) async throws -> Lattice_Identity_V1_CertifyResponse {
        do {
            let signed = try await self.issuer.certify(
                identity: request.identity,
                token: Array(request.token),
                csr: Array(request.certificateSigningRequest),
                peer: context.remotePeer
            )
            var response = Lattice_Identity_V1_CertifyResponse()
            response.leafCertificate = .init(signed.leaf.derBytes)
            response.intermediateCertificates = signed.intermediates.map { .init($0.derBytes) }
            response.validUntil = Google_Protobuf_Timestamp(
                seconds: Int64(signed.validUntil.timeIntervalSince1970.rounded(.down)),
                nanos: 0
            )
            return response
        } catch {
            throw RPCError(
                code: Self.code(error.status),
                message: error.reason,
                metadata: [Self.errorMetadataKey: .string(error.label)]
            )
        }
    }

    static func code(_ status: CertifyError.Status) -> RPCError.Code {
        switch status {
        case .unauthenticated: return .unauthenticated
        case .permissionDenied: return .permissionDenied
        case .invalidArgument: return .invalidArgument
        case .resourceExhausted: return .resourceExhausted
        case .unavailable: return .unavailable
        case .internalError: return .internalError
        }
    }
}
