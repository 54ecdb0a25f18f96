import FoundationEssentials
import LatticeIdentity
import LatticeModel
import LatticeObservability
import Logging

/// The identity service's logic, without the wire: authenticate the caller's token, check that it proves the
/// identity asked for, validate the CSR, sign a leaf with the current issuer, count and time each outcome.
public struct IdentityIssuer: Sendable {
    private let store: IssuerStore
    private let authenticator: any TokenAuthenticator
    private let signer: LeafSigner
    private let domain: IdentityDomain
    private let limiter: RequestLimiter
    private let metrics: IdentityMetrics
    private let logger: Logger
    private let now: @Sendable () -> Date

    public init(
        store: IssuerStore,
        authenticator: any TokenAuthenticator,
        signer: LeafSigner,
        domain: IdentityDomain,
        limiter: RequestLimiter,
        metrics: IdentityMetrics,
        logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.authenticator = authenticator
        self.signer = signer
        self.domain = domain
        self.limiter = limiter
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }

    /// Handles one Certify request from `peer`.
    public func certify(
        identity name: String,
        token: [UInt8],
        csr: [UInt8],
        peer: String
    ) async throws(CertifyError) -> LeafSigner.SignedLeaf {
        do {
            let signed = try await self.certifyUncounted(identity: name, token: token, csr: csr, peer: peer)
            self.metrics.countIssue("ok")
            self.logger.debug(
                "certified",
                metadata: ["lattice.identity": "\(name)", "net.peer.addr": "\(peer)"]
            )
            return signed
        } catch {
            self.metrics.countIssue(error.label)
            self.logger.debug(
                "certify refused",
                metadata: ["lattice.identity": "\(name)", "net.peer.addr": "\(peer)", "error.type": "\(error.label)"]
            )
            throw error
        }
    }

    private func certifyUncounted(
        identity name: String,
        token: [UInt8],
        csr: [UInt8],
        peer: String
    ) async throws(CertifyError) -> LeafSigner.SignedLeaf {
        if let refusal = self.limiter.acquire(peer: peer) {
            let reason =
                refusal == .tooManyInFlight
                ? "too many identity requests in flight; retry with backoff"
                : "too many identity requests from \(peer); retry with backoff"
            throw CertifyError(status: .resourceExhausted, label: "rate_limited", reason: reason)
        }
        defer { self.limiter.release() }

        let identity: WorkloadIdentity
        do {
            identity = try WorkloadIdentity.parse(name, domain: self.domain)
        } catch {
            throw CertifyError(status: .invalidArgument, label: "invalid_identity", reason: error.reason)
        }
        let now = self.now()
        guard let issuer = self.store.issuer, issuer.certificate.notValidAfter > now else {
            throw CertifyError(
                status: .unavailable,
                label: "issuer_unavailable",
                reason: "no valid issuer is loaded; check the issuer Secret and `lattice check`"
            )
        }
        guard let tokenText = String(bytes: token, encoding: .utf8), !tokenText.isEmpty else {
            throw CertifyError(status: .unauthenticated, label: "unauthenticated", reason: "the token is empty or not text")
        }
        let proven: WorkloadIdentity
        do {
            proven = try await self.authenticator.authenticate(token: tokenText)
        } catch {
            switch error.kind {
            case .unauthenticated:
                throw CertifyError(status: .unauthenticated, label: "unauthenticated", reason: error.reason)
            case .unavailable:
                throw CertifyError(status: .unavailable, label: "authenticator_unavailable", reason: error.reason)
            }
        }
        guard proven == identity else {
            throw CertifyError(
                status: .permissionDenied,
                label: "identity_mismatch",
                reason: "the token proves '\(proven.name)', not '\(identity.name)'"
            )
        }
        do {
            let started = ContinuousClock.now
            let signed = try self.signer.sign(csr: csr, identity: identity, issuer: issuer, now: now)
            self.metrics.signingDuration.recordNanoseconds((ContinuousClock.now - started).totalNanoseconds)
            return signed
        } catch {
            throw CertifyError.from(error)
        }
    }
}
