import Crypto
import Foundation
import LatticeIdentity
import LatticeModel
import LatticeTestSupport
import Testing
import X509

@Suite struct ChainAndIssuerTests {
    @Test func signsLeavesWithSpiffeBackdateAndLifetime() async throws {
        let factory = try CertFactory()
        let issuer = try await factory.issuerCredentials()
        let identity = CertFactory.identity("web")
        let key = P256.Signing.PrivateKey()
        let csr = try CSRBuilder.make(identity: identity.name, key: key)
        let signed = try LeafSigner().sign(csr: csr, identity: identity, issuer: issuer, now: factory.referenceTime)
        #expect(signed.leaf.dnsNames == [identity.name])
        #expect(signed.leaf.uris == [identity.spiffeID])
        #expect(signed.leaf.caConstraint.isCA == false)
        let eku = try #require(try signed.leaf.extensions.extendedKeyUsage)
        #expect(eku.contains(.serverAuth) && eku.contains(.clientAuth))
        #expect(abs(signed.leaf.notValidBefore.timeIntervalSince(factory.referenceTime) + 20) <= 1)
        #expect(abs(signed.leaf.notValidAfter.timeIntervalSince(factory.referenceTime) - 86_400) <= 1)
        #expect(signed.intermediates == [factory.issuer])
        let verdict = await ChainVerifier.verify(
            leaf: signed.leaf,
            intermediates: signed.intermediates,
            anchors: factory.bundle,
            expectedIdentity: identity.name,
            now: factory.referenceTime
        )
        #expect(verdict.isValid)
    }

    @Test func leafNeverOutlivesItsIssuer() async throws {
        let factory = try CertFactory(issuerLifetime: 3600)
        let issuer = try await factory.issuerCredentials()
        let identity = CertFactory.identity("web")
        let signed = try LeafSigner().sign(
            publicKey: Certificate.PublicKey(P256.Signing.PrivateKey().publicKey),
            identity: identity,
            issuer: issuer,
            now: factory.referenceTime
        )
        #expect(signed.leaf.notValidAfter == factory.issuer.notValidAfter)
    }

    @Test func chainFaultsAreNamed() async throws {
        let factory = try CertFactory()
        let other = try CertFactory()
        let identity = CertFactory.identity("web")
        let leaf = try CertificateFactory.makeLeaf(
            identity: identity,
            publicKey: Certificate.PublicKey(P256.Signing.PrivateKey().publicKey),
            issuer: .init(certificate: factory.issuer, key: factory.issuerKey),
            notBefore: factory.referenceTime - 60,
            notAfter: factory.referenceTime + 3600,
            now: factory.referenceTime
        )
        func verify(_ anchors: TrustBundle, identity: String? = nil, at time: Date? = nil) async -> IdentityError? {
            let verdict = await ChainVerifier.verify(
                leaf: leaf,
                intermediates: [factory.issuer],
                anchors: anchors,
                expectedIdentity: identity,
                now: time ?? factory.referenceTime
            )
            if case .invalid(let error) = verdict { return error }
            return nil
        }
        #expect(await verify(factory.bundle) == nil)
        #expect(await verify(other.bundle)?.code == .untrusted)
        #expect(await verify(factory.bundle, identity: "db.default.serviceaccount.identity.lattice.cluster.local")?.code == .wrongSAN)
        #expect(await verify(factory.bundle, at: factory.referenceTime + 7200)?.code == .expired)
        #expect(await verify(factory.bundle, at: factory.referenceTime - 7200)?.code == .notYetValid)
        // A bundle may hold several anchors (rotation): the old chain still validates.
        let both = try TrustBundle(anchors: [other.anchor, factory.anchor])
        #expect(await verify(both) == nil)
    }

    @Test func pathLengthForbidsASecondIntermediate() async throws {
        let factory = try CertFactory()
        // The issuer (pathlen 0) cannot sign another CA: the factory refuses...
        #expect(throws: IdentityError(.pathLengthExceeded, "")) {
            try CertificateFactory.makeIntermediate(
                commonName: "sub",
                publicKey: P256.Signing.PrivateKey().publicKey,
                issuer: .init(certificate: factory.issuer, key: factory.issuerKey),
                notBefore: factory.referenceTime - 60,
                notAfter: factory.referenceTime + 3600,
                now: factory.referenceTime
            )
        }
        // ...and a chain built that way by another tool is refused by the verifier, with the reason.
        let subKey = P256.Signing.PrivateKey()
        let sub = try Certificate(
            version: .v3,
            serialNumber: .init(),
            publicKey: .init(subKey.publicKey),
            notValidBefore: factory.referenceTime - 60,
            notValidAfter: factory.referenceTime + 3600,
            issuer: factory.issuer.subject,
            subject: try DistinguishedName { CommonName("sub") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true))
            },
            issuerPrivateKey: .init(factory.issuerKey)
        )
        let leaf = try CertificateFactory.makeLeaf(
            identity: CertFactory.identity("web"),
            publicKey: Certificate.PublicKey(P256.Signing.PrivateKey().publicKey),
            issuer: .init(certificate: sub, key: subKey),
            notBefore: factory.referenceTime - 60,
            notAfter: factory.referenceTime + 3600,
            now: factory.referenceTime
        )
        let verdict = await ChainVerifier.verify(
            leaf: leaf,
            intermediates: [sub, factory.issuer],
            anchors: factory.bundle,
            now: factory.referenceTime
        )
        guard case .invalid(let error) = verdict else {
            Issue.record("a chain through a pathlen-0 issuer must be refused")
            return
        }
        #expect(error.code == .pathLengthExceeded)
    }

    @Test func issuerValidationRefusesEachFault() async throws {
        let factory = try CertFactory()
        let other = try CertFactory()
        func validate(_ certs: [Certificate], _ key: P256.Signing.PrivateKey, _ anchors: TrustBundle) async -> IdentityError? {
            do {
                _ = try await IssuerCredentials.validate(
                    certificates: certs,
                    key: key,
                    anchors: anchors,
                    source: "issuer.crt",
                    now: factory.referenceTime
                )
                return nil
            } catch {
                return error
            }
        }
        #expect(await validate([factory.issuer], factory.issuerKey, factory.bundle) == nil)
        #expect(await validate([factory.issuer], other.issuerKey, factory.bundle)?.code == .keyMismatch)
        #expect(await validate([factory.issuer], factory.issuerKey, other.bundle)?.code == .untrusted)
        let expired = try factory.makeIssuer(
            notBefore: factory.referenceTime - 7200,
            notAfter: factory.referenceTime - 60
        )
        #expect(await validate([expired.certificate], expired.key, factory.bundle)?.code == .expired)
        let future = try factory.makeIssuer(notBefore: factory.referenceTime + 3600)
        #expect(await validate([future.certificate], future.key, factory.bundle)?.code == .notYetValid)
        let leafKey = P256.Signing.PrivateKey()
        let leaf = try CertificateFactory.makeLeaf(
            identity: CertFactory.identity("web"),
            publicKey: .init(leafKey.publicKey),
            issuer: .init(certificate: factory.issuer, key: factory.issuerKey),
            notBefore: factory.referenceTime - 60,
            notAfter: factory.referenceTime + 3600,
            now: factory.referenceTime
        )
        #expect(await validate([leaf], leafKey, factory.bundle)?.code == .notACertificateAuthority)
    }
}
