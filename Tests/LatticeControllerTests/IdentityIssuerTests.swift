import Crypto
import Foundation
import LatticeController
import LatticeIdentity
import LatticeModel
import LatticeObservability
import LatticeTestSupport
import Logging
import Testing

/// A token authenticator with a fixed table.
struct TableAuthenticator: TokenAuthenticator {
    let table: [String: WorkloadIdentity]
    func authenticate(token: String) async throws(AuthenticationError) -> WorkloadIdentity {
        guard let identity = self.table[token] else { throw AuthenticationError(.unauthenticated, "unknown token") }
        return identity
    }
}

struct IssuerHarness {
    let factory: CertFactory
    let store: IssuerStore
    let registry = MetricsRegistry()
    let issuer: IdentityIssuer
    let web = CertFactory.identity("web")

    init(limits: RequestLimiter.Settings = .init(), installIssuer: Bool = true) async throws {
        self.factory = try CertFactory()
        self.store = IssuerStore(controllerIdentity: IdentityDomain.default.controllerIdentity)
        if installIssuer {
            try self.store.install(try await self.factory.issuerCredentials(), signer: LeafSigner(), now: Date())
        }
        let metrics = IdentityMetrics(factory: self.registry.factory)
        self.issuer = IdentityIssuer(
            store: self.store,
            authenticator: TableAuthenticator(table: ["web-token": CertFactory.identity("web")]),
            signer: LeafSigner(),
            domain: .default,
            limiter: RequestLimiter(settings: limits),
            metrics: metrics,
            logger: Logger(label: "test")
        )
    }

    func metricsText() -> String { String(decoding: self.registry.exposition(), as: UTF8.self) }

    func refusal(identity: String? = nil, token: String = "web-token", csr: [UInt8]? = nil, peer: String = "ipv4:127.0.0.1:1")
        async throws -> CertifyError?
    {
        let csr = try csr ?? CSRBuilder.make(identity: self.web.name, key: P256.Signing.PrivateKey())
        do {
            _ = try await self.issuer.certify(identity: identity ?? self.web.name, token: Array(token.utf8), csr: csr, peer: peer)
            return nil
        } catch {
            return error
        }
    }
}

@Suite struct IdentityIssuerTests {
    @Test func signsForTheTokensIdentity() async throws {
        let harness = try await IssuerHarness()
        let signed = try await harness.issuer.certify(
            identity: harness.web.name,
            token: Array("web-token".utf8),
            csr: try CSRBuilder.make(identity: harness.web.name, key: P256.Signing.PrivateKey()),
            peer: "ipv4:127.0.0.1:1"
        )
        #expect(signed.leaf.dnsNames == [harness.web.name])
        #expect(signed.intermediates == [harness.factory.issuer])
        #expect(harness.metricsText().contains(#"lattice_identity_certificates_issued_total{result="ok"} 1"#))
    }

    @Test func eachBadRequestIsRefusedWithItsOwnCodeAndCounter() async throws {
        let harness = try await IssuerHarness()
        let db = "db.default.serviceaccount.identity.lattice.cluster.local"
        let cases: [(CertifyError?, CertifyError.Status, String)] = [
            (try await harness.refusal(token: "nope"), .unauthenticated, "unauthenticated"),
            (try await harness.refusal(token: ""), .unauthenticated, "unauthenticated"),
            (try await harness.refusal(
                identity: db,
                csr: try CSRBuilder.make(identity: db, key: P256.Signing.PrivateKey())
            ), .permissionDenied, "identity_mismatch"),
            (try await harness.refusal(identity: "web.default"), .invalidArgument, "invalid_identity"),
            (try await harness.refusal(csr: [1, 2, 3]), .invalidArgument, "malformed_csr"),
            (try await harness.refusal(csr: [UInt8](repeating: 0x30, count: 10_000)), .invalidArgument, "csr_too_large"),
            (try await harness.refusal(csr: try CSRBuilder.make(identity: db, key: P256.Signing.PrivateKey())),
             .invalidArgument, "wrong_san"),
        ]
        for (error, status, label) in cases {
            #expect(error?.status == status, "\(label)")
            #expect(error?.label == label)
            #expect(harness.metricsText().contains(#"lattice_identity_certificates_issued_total{result="\#(label)"}"#))
        }
    }

    @Test func withoutAnIssuerItIsUnavailable() async throws {
        let harness = try await IssuerHarness(installIssuer: false)
        let error = try await harness.refusal()
        #expect(error?.status == .unavailable)
        #expect(error?.label == "issuer_unavailable")
    }

    @Test func anUnreachableTokenAuthorityIsUnavailableNotUnauthenticated() async throws {
        struct Down: TokenAuthenticator {
            func authenticate(token: String) async throws(AuthenticationError) -> WorkloadIdentity {
                throw AuthenticationError(.unavailable, "TokenReview failed: forbidden")
            }
        }
        let factory = try CertFactory()
        let store = IssuerStore(controllerIdentity: IdentityDomain.default.controllerIdentity)
        try store.install(try await factory.issuerCredentials(), signer: LeafSigner(), now: Date())
        let issuer = IdentityIssuer(
            store: store,
            authenticator: Down(),
            signer: LeafSigner(),
            domain: .default,
            limiter: RequestLimiter(settings: .init()),
            metrics: IdentityMetrics(factory: MetricsRegistry().factory),
            logger: Logger(label: "test")
        )
        let web = CertFactory.identity("web")
        let error = await #expect(throws: CertifyError.self) {
            try await issuer.certify(
                identity: web.name,
                token: Array("t".utf8),
                csr: try CSRBuilder.make(identity: web.name, key: P256.Signing.PrivateKey()),
                peer: "ipv4:127.0.0.1:1"
            )
        }
        #expect(error?.status == .unavailable)
        #expect(error?.label == "authenticator_unavailable")
    }

    @Test func aFloodIsRefusedAndOthersKeepBeingServed() async throws {
        let harness = try await IssuerHarness(limits: .init(maxInFlight: 64, perPeerRate: 5, perPeerBurst: 10))
        var limited = 0
        var served = 0
        for _ in 0..<200 {
            if let error = try await harness.refusal(peer: "ipv4:127.0.0.9:4000") {
                #expect(error.status == .resourceExhausted)
                limited += 1
            } else {
                served += 1
            }
        }
        #expect(limited >= 180)
        #expect(served >= 10)
        // Another caller is not held back by the flood.
        #expect(try await harness.refusal(peer: "ipv4:127.0.0.10:5000") == nil)
    }
}

@Suite struct RequestLimiterTests {
    @Test func inFlightCap() {
        let limiter = RequestLimiter(settings: .init(maxInFlight: 2, perPeerRate: 0, perPeerBurst: 0))
        #expect(limiter.acquire(peer: "a") == nil)
        #expect(limiter.acquire(peer: "b") == nil)
        #expect(limiter.acquire(peer: "c") == .tooManyInFlight)
        limiter.release()
        #expect(limiter.acquire(peer: "c") == nil)
    }

    @Test func tokenBucketRefills() {
        let clock = ManualDate()
        let limiter = RequestLimiter(settings: .init(maxInFlight: 100, perPeerRate: 2, perPeerBurst: 2), now: { clock.now })
        #expect(limiter.acquire(peer: "ipv4:1.2.3.4:1") == nil)
        limiter.release()
        #expect(limiter.acquire(peer: "ipv4:1.2.3.4:2") == nil)
        limiter.release()
        #expect(limiter.acquire(peer: "ipv4:1.2.3.4:3") == .peerRateExceeded)
        clock.advance(1)
        #expect(limiter.acquire(peer: "ipv4:1.2.3.4:4") == nil)
    }
}

/// A settable wall clock for tests.
final class ManualDate: @unchecked Sendable {
    // Only touched from one test task at a time.
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)
    var now: Date { self.lock.withLock { self.current } }
    func advance(_ seconds: Double) { self.lock.withLock { self.current += seconds } }
}
