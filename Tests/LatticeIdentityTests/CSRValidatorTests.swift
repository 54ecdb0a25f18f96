import Crypto
import LatticeIdentity
import LatticeModel
import LatticeTestSupport
import SwiftASN1
import Testing
import X509

@Suite struct CSRValidatorTests {
    let identity = CertFactory.identity("web")
    let validator = CSRValidator()

    @Test func acceptsAProxyCSR() throws {
        let key = P256.Signing.PrivateKey()
        let der = try CSRBuilder.make(identity: self.identity.name, key: key)
        let publicKey = try self.validator.validate(der: der, for: self.identity)
        #expect(publicKey == Certificate.PublicKey(key.publicKey))
    }

    @Test func refusesEachBadCSRWithItsOwnCode() throws {
        let key = P256.Signing.PrivateKey()
        let wrong = try CSRBuilder.make(identity: "db.default.serviceaccount.identity.lattice.cluster.local", key: key)
        #expect(throws: IdentityError(.wrongSAN, "")) { try self.validator.validate(der: wrong, for: self.identity) }

        let several = try Self.csr(names: [.dnsName(self.identity.name), .dnsName("evil.example.com")], key: .init(key))
        #expect(throws: IdentityError(.multipleSANs, "")) { try self.validator.validate(der: several, for: self.identity) }

        let uriOnly = try Self.csr(names: [.uniformResourceIdentifier(self.identity.spiffeID)], key: .init(key))
        #expect(throws: IdentityError(.wrongSAN, "")) { try self.validator.validate(der: uriOnly, for: self.identity) }

        let none = try Self.csr(names: [], key: .init(key))
        #expect(throws: IdentityError(.wrongSAN, "")) { try self.validator.validate(der: none, for: self.identity) }

        let p384 = try Self.csr(names: [.dnsName(self.identity.name)], key: .init(P384.Signing.PrivateKey()))
        let error = #expect(throws: IdentityError.self) { try self.validator.validate(der: p384, for: self.identity) }
        #expect(error?.code == .unsupportedKey)
        #expect(error?.reason.contains("P-384") == true)

        #expect(throws: IdentityError(.malformedCSR, "")) {
            try self.validator.validate(der: [0x30, 0x03, 0x02, 0x01, 0x01], for: self.identity)
        }
        #expect(throws: IdentityError(.malformedCSR, "")) { try self.validator.validate(der: [], for: self.identity) }
        #expect(throws: IdentityError(.csrTooLarge, "")) {
            try self.validator.validate(der: [UInt8](repeating: 0x30, count: 5000), for: self.identity)
        }
    }

    @Test func refusesATamperedSignature() throws {
        let key = P256.Signing.PrivateKey()
        var der = try CSRBuilder.make(identity: self.identity.name, key: key)
        // The signature is the last bytes of the DER: flip one.
        der[der.count - 3] ^= 0x01
        let error = #expect(throws: IdentityError.self) { try self.validator.validate(der: der, for: self.identity) }
        #expect(error?.code == .csrSignatureInvalid || error?.code == .malformedCSR)
    }

    static func csr(names: [GeneralName], key: Certificate.PrivateKey) throws -> [UInt8] {
        var attributes = CertificateSigningRequest.Attributes()
        if !names.isEmpty {
            let extensions = try Certificate.Extensions { SubjectAlternativeNames(names) }
            attributes = try CertificateSigningRequest.Attributes([.init(ExtensionRequest(extensions: extensions))])
        }
        let csr = try CertificateSigningRequest(
            version: .v1,
            subject: try DistinguishedName { CommonName("x") },
            privateKey: key,
            attributes: attributes
        )
        var serializer = DER.Serializer()
        try serializer.serialize(csr)
        return serializer.serializedBytes
    }
}
