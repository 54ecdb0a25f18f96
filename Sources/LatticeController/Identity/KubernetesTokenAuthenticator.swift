import LatticeKube
import LatticeModel
import Logging

/// Authenticates a workload's projected ServiceAccount token with a TokenReview, for the audience
/// `identity.lattice.io`.
///
/// The token must be authenticated, valid for that audience (when the API server reports audiences), and belong to
/// a ServiceAccount; the identity is `<sa>.<ns>.serviceaccount.identity.…`. An API server that cannot be asked (or
/// refuses the review for lack of RBAC) is "unavailable", never "unauthenticated", so a proxy retries instead of
/// giving up.
public struct KubernetesTokenAuthenticator: TokenAuthenticator {
    private let api: any KubernetesAPI
    private let domain: IdentityDomain
    private let audience: String

    public init(api: any KubernetesAPI, domain: IdentityDomain, audience: String = WellKnown.identityTokenAudience) {
        self.api = api
        self.domain = domain
        self.audience = audience
    }

    /// Builds the authenticator with an in-cluster client, or one from `kubeconfig`.
    public static func make(client: KubernetesClient, domain: IdentityDomain) -> KubernetesTokenAuthenticator {
        KubernetesTokenAuthenticator(api: client, domain: domain)
    }

    /// The API server client: from `kubeconfig`, or the in-cluster ServiceAccount.
    public static func client(kubeconfig: String?, logger: Logger) throws -> KubernetesClient {
        let config: KubernetesClientConfig
        if let kubeconfig {
            config = try KubernetesClientConfig.kubeconfig(path: kubeconfig)
        } else {
            config = try KubernetesClientConfig.inCluster()
        }
        return try KubernetesClient(config: config, logger: logger)
    }

    public func authenticate(token: String) async throws(AuthenticationError) -> WorkloadIdentity {
        let status: TokenReviewStatus
        do {
            status = try await self.api.createTokenReview(token: token, audiences: [self.audience])
        } catch let error as KubernetesError {
            throw AuthenticationError(.unavailable, "TokenReview failed: \(error)")
        } catch {
            throw AuthenticationError(.unavailable, "TokenReview failed: \(error)")
        }
        guard status.authenticated else {
            throw AuthenticationError(.unauthenticated, "the token is not valid: \(status.error ?? "not authenticated")")
        }
        if let audiences = status.audiences, !audiences.contains(self.audience) {
            throw AuthenticationError(
                .unauthenticated,
                "the token is for audiences \(audiences), not \(self.audience)"
            )
        }
        guard let user = status.user else {
            throw AuthenticationError(.unauthenticated, "the TokenReview names no user")
        }
        let account: ServiceAccountName
        do {
            account = try user.serviceAccountName()
        } catch {
            throw AuthenticationError(.unauthenticated, "\(error)")
        }
        do {
            return try WorkloadIdentity(serviceAccount: account.name, namespace: account.namespace, domain: self.domain)
        } catch {
            throw AuthenticationError(.unauthenticated, error.reason)
        }
    }
}
