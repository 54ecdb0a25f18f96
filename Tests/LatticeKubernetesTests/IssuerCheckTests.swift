import Crypto
import FoundationEssentials
import LatticeIdentity
import LatticeManifests
import LatticeTestSupport
import Testing
import X509

@Suite struct IssuerCheckTests {
    func check(anchors: String, issuer: String, key: String, at now: Date) async throws {
        var values = try InstallFixture().values()
        values.identityTrustAnchorsPEM = anchors
        values.issuerCertificatePEM = issuer
        values.issuerKeyPEM = key
        _ = try await IssuerCheck.check(values, now: now)
    }

    @Test func anIssuerSignedByTheAnchorsPasses() async throws {
        let f = try InstallFixture()
        let verified = try await IssuerCheck.check(try f.values(), now: f.now)
        #expect(verified.issuer.isCA)
        #expect(verified.anchors.count == 1)
    }

    @Test func anIssuerFromOtherAnchorsIsRefused() async throws {
        let f = try InstallFixture()
        let other = try InstallFixture()
        let error = await #expect(throws: ManifestsError.self) {
            try await self.check(anchors: other.anchorsPEM, issuer: f.issuerPEM, key: f.issuerKeyPEM, at: f.now)
        }
        #expect(error?.code == .invalidCredentials)
        #expect(error?.reason.contains("not signed by any trust anchor") == true)
        #expect(error?.reason.contains("--ca ca.crt") == true)
    }

    @Test func anIssuerExpiringWithinSixtyDaysIsRefused() async throws {
        let f = try InstallFixture(issuerLifetime: 30 * 86_400)
        let error = await #expect(throws: ManifestsError.self) {
            try await self.check(anchors: f.anchorsPEM, issuer: f.issuerPEM, key: f.issuerKeyPEM, at: f.now)
        }
        #expect(error?.code == .issuerExpiresSoon)
        #expect(error?.reason.contains("in 29 days") == true || error?.reason.contains("in 30 days") == true)
        #expect(error?.reason.contains("lattice certs create") == true)
    }

    @Test func anExpiredIssuerIsRefused() async throws {
        let f = try InstallFixture()
        let error = await #expect(throws: ManifestsError.self) {
            try await self.check(
                anchors: f.anchorsPEM, issuer: f.issuerPEM, key: f.issuerKeyPEM, at: f.now + 400 * 86_400
            )
        }
        #expect(error?.code == .invalidCredentials)
        #expect(error?.reason.contains("expired") == true)
    }

    @Test func anIssuerThatIsNotACAIsRefused() async throws {
        let f = try InstallFixture()
        let key = P256.Signing.PrivateKey()
        let leaf = try CertificateFactory.makeLeaf(
            identity: CertFactory.identity("web"),
            publicKey: Certificate.PublicKey(key.publicKey),
            issuer: .init(certificate: f.certs.anchor, key: f.certs.anchorKey),
            notBefore: f.now - 60,
            notAfter: f.now + 200 * 86_400,
            now: f.now
        )
        let error = await #expect(throws: ManifestsError.self) {
            try await self.check(
                anchors: f.anchorsPEM, issuer: CertificateLoader.pem([leaf]), key: key.pemRepresentation, at: f.now
            )
        }
        #expect(error?.code == .invalidCredentials)
        #expect(error?.reason.contains("not a CA") == true)
        #expect(error?.reason.contains("--profile intermediate-ca") == true)
    }

    @Test func aKeyThatIsNotTheIssuersIsRefused() async throws {
        let f = try InstallFixture()
        let error = await #expect(throws: ManifestsError.self) {
            try await self.check(
                anchors: f.anchorsPEM, issuer: f.issuerPEM, key: f.certs.anchorKey.pemRepresentation, at: f.now
            )
        }
        #expect(error?.code == .invalidCredentials)
        #expect(error?.reason.contains("does not match") == true)
    }

    @Test func missingCredentialsNameTheFlags() async throws {
        let f = try InstallFixture()
        let error = await #expect(throws: ManifestsError.self) {
            try await self.check(anchors: f.anchorsPEM, issuer: "", key: "", at: f.now)
        }
        #expect(error?.code == .missingCredentials)
        #expect(error?.reason.contains("--identity-issuer-certificate-file issuer.crt") == true)
        #expect(error?.reason.contains("--identity-issuer-key-file issuer.key") == true)
    }
}
