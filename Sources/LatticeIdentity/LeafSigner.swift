import FoundationEssentials
import LatticeModel
import X509

/// Signs workload leaves with an issuer: the pure core of the identity service.
public struct LeafSigner: Sendable {
    /// How long a leaf is valid (Linkerd's default: 24 h).
    public var lifetime: Duration
    /// How far notBefore is set back, so a node with a slightly slow clock accepts a fresh leaf.
    public var backdate: Duration
    public var csrValidator: CSRValidator

    public init(
        lifetime: Duration = WellKnown.defaultLeafLifetime,
        backdate: Duration = WellKnown.leafBackdate,
        csrValidator: CSRValidator = CSRValidator()
    ) {
        self.lifetime = lifetime
        self.backdate = backdate
        self.csrValidator = csrValidator
    }

    /// A signed leaf and the chain a peer needs to verify it.
    public struct SignedLeaf: Sendable {
        public let leaf: Certificate
        /// Issuer first, then any further intermediates.
        public let intermediates: [Certificate]
        public var validUntil: Date { self.leaf.notValidAfter }
    }

    /// Validates `csr` for `identity` and signs it. The leaf never outlives the issuer.
    public func sign(
        csr: [UInt8],
        identity: WorkloadIdentity,
        issuer: IssuerCredentials,
        now: Date
    ) throws(IdentityError) -> SignedLeaf {
        let publicKey = try self.csrValidator.validate(der: csr, for: identity)
        return try self.sign(publicKey: publicKey, identity: identity, issuer: issuer, now: now)
    }

    /// Signs a leaf for a key the caller already holds (the controller's own serving certificate).
    public func sign(
        publicKey: Certificate.PublicKey,
        identity: WorkloadIdentity,
        issuer: IssuerCredentials,
        now: Date
    ) throws(IdentityError) -> SignedLeaf {
        let notBefore = now - self.backdate.timeInterval
        let notAfter = now + self.lifetime.timeInterval
        let leaf = try CertificateFactory.makeLeaf(
            identity: identity,
            publicKey: publicKey,
            issuer: issuer.factoryIssuer,
            notBefore: notBefore,
            notAfter: notAfter,
            now: now
        )
        return SignedLeaf(leaf: leaf, intermediates: [issuer.certificate] + issuer.chain)
    }
}
