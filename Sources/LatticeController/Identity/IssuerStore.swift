import Crypto
import FoundationEssentials
import LatticeIdentity
import LatticeModel
import NIOCertificateReloading
import NIOSSL
import Synchronization
import X509

/// The issuer the identity service signs with, and the controller's own serving certificate made from it.
///
/// Readers take a snapshot under a short lock; the reload service installs a new issuer atomically, so a request
/// in flight finishes with the issuer it started with and the next one uses the new one. It is the
/// `CertificateReloader` of the TLS listener too: each handshake presents the current serving certificate.
public final class IssuerStore: CertificateReloader, Sendable {
    /// The controller's serving certificate, signed by the current issuer.
    public struct ServingCredentials: Sendable {
        public let leaf: Certificate
        public let chain: [NIOSSLCertificate]
        public let key: NIOSSLPrivateKey
    }

    private struct State {
        var issuer: IssuerCredentials?
        var serving: ServingCredentials?
    }

    private let state = Mutex(State())
    public let controllerIdentity: WorkloadIdentity

    public init(controllerIdentity: WorkloadIdentity) {
        self.controllerIdentity = controllerIdentity
    }

    public var issuer: IssuerCredentials? { self.state.withLock { $0.issuer } }
    public var serving: ServingCredentials? { self.state.withLock { $0.serving } }

    /// Installs a validated issuer and a fresh serving certificate signed by it.
    public func install(_ issuer: IssuerCredentials, signer: LeafSigner, now: Date) throws {
        let serving = try Self.makeServing(identity: self.controllerIdentity, issuer: issuer, signer: signer, now: now)
        self.state.withLock {
            $0.issuer = issuer
            $0.serving = serving
        }
    }

    /// Re-signs the serving certificate with the current issuer (renewal at 70 % of its life).
    public func renewServing(signer: LeafSigner, now: Date) throws {
        guard let issuer = self.issuer else { return }
        let serving = try Self.makeServing(identity: self.controllerIdentity, issuer: issuer, signer: signer, now: now)
        self.state.withLock { $0.serving = serving }
    }

    public var sslContextConfigurationOverride: NIOSSLContextConfigurationOverride {
        var override = NIOSSLContextConfigurationOverride()
        if let serving = self.serving {
            override.certificateChain = serving.chain.map { .certificate($0) }
            override.privateKey = .privateKey(serving.key)
        }
        return override
    }

    static func makeServing(
        identity: WorkloadIdentity,
        issuer: IssuerCredentials,
        signer: LeafSigner,
        now: Date
    ) throws -> ServingCredentials {
        // The serving key is made here, in memory, and never leaves the process.
        let key = P256.Signing.PrivateKey()
        let signed = try signer.sign(
            publicKey: Certificate.PublicKey(key.publicKey),
            identity: identity,
            issuer: issuer,
            now: now
        )
        let chain = try ([signed.leaf] + signed.intermediates).map {
            try NIOSSLCertificate(bytes: $0.derBytes, format: .der)
        }
        let nioKey = try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)
        return ServingCredentials(leaf: signed.leaf, chain: chain, key: nioKey)
    }
}
