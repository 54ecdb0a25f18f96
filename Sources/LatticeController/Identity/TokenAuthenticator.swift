import LatticeModel

/// Turns a workload's token into the identity it proves.
///
/// Two implementations: ``LocalTokenAuthenticator`` (a tokens file, for local mode and tests) and
/// ``KubernetesTokenAuthenticator`` (a TokenReview against the API server).
public protocol TokenAuthenticator: Sendable {
    /// - Throws: ``AuthenticationError``.
    func authenticate(token: String) async throws(AuthenticationError) -> WorkloadIdentity
}

/// Why a token was not accepted.
public struct AuthenticationError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The token is unknown, malformed, expired or for another audience: the caller is not authenticated.
        case unauthenticated
        /// The authority that checks tokens (the API server) could not be asked: try again later.
        case unavailable
    }

    public let kind: Kind
    public let reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { self.reason }
}
