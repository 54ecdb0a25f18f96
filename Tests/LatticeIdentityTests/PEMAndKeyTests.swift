import Crypto
import Foundation
import LatticeIdentity
import LatticeTestSupport
import Testing
import X509

@Suite struct PEMAndKeyTests {
    @Test func certificatesRoundTripThroughPEM() throws {
        let factory = try CertFactory()
        let pem = CertificateLoader.pem([factory.issuer, factory.anchor])
        let parsed = try CertificateLoader.certificates(pem: pem, source: "bundle.pem")
        #expect(parsed == [factory.issuer, factory.anchor])
    }

    @Test func garbledPEMNamesTheFileAndFault() throws {
        let factory = try CertFactory()
        let good = CertificateLoader.pem([factory.anchor])
        let truncated = String(good.prefix(good.count - 30))
        let error = #expect(throws: IdentityError.self) {
            try CertificateLoader.certificates(pem: truncated, source: "ca.crt")
        }
        #expect(error?.code == .malformedPEM)
        #expect(error?.reason.hasPrefix("ca.crt:") == true)

        let badBase64 = "-----BEGIN CERTIFICATE-----\n!!!notbase64!!!\n-----END CERTIFICATE-----\n"
        #expect(throws: IdentityError(.malformedPEM, "")) {
            try CertificateLoader.certificates(pem: badBase64, source: "x")
        }
        let notACert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        #expect(throws: IdentityError(.malformedCertificate, "")) {
            try CertificateLoader.certificates(pem: notACert, source: "x")
        }
        #expect(throws: IdentityError(.malformedPEM, "")) {
            try CertificateLoader.certificates(pem: "hello", source: "x")
        }
    }

    @Test func missingFileIsNamed() {
        let error = #expect(throws: IdentityError.self) {
            try CertificateLoader.certificates(path: "/nonexistent/ca.crt")
        }
        #expect(error?.code == .unreadableFile)
        #expect(error?.reason == "/nonexistent/ca.crt: no such file")
    }

    @Test func p256KeysLoadInBothEncodings() throws {
        let key = P256.Signing.PrivateKey()
        let pkcs8 = try KeyLoader.p256PrivateKey(pem: key.pemRepresentation, source: "k")
        #expect(pkcs8.rawRepresentation == key.rawRepresentation)
        // SEC1 ("EC PRIVATE KEY"), as openssl ecparam and step write it.
        let sec1Key = try KeyLoader.p256PrivateKey(pem: try Self.sec1PEM(key), source: "k")
        #expect(sec1Key.rawRepresentation == key.rawRepresentation)
    }

    @Test func otherKeyTypesAreRefusedByName() throws {
        let p384 = P384.Signing.PrivateKey().pemRepresentation
        let error = #expect(throws: IdentityError.self) { try KeyLoader.p256PrivateKey(pem: p384, source: "issuer.key") }
        #expect(error?.code == .unsupportedKey)
        #expect(error?.reason.contains("P-384") == true)
        #expect(error?.reason.contains("issuer.key") == true)
    }

    /// A SEC1 PEM of `key`, as `openssl ec` writes it (via the system openssl, which the tests install).
    static func sec1PEM(_ key: P256.Signing.PrivateKey) throws -> String {
        let pkcs8 = key.pemRepresentation
        let dir = try TestFiles.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try TestFiles.write(pkcs8, to: "\(dir)/k.pem")
        let result = try ProcessRunner.run("/usr/bin/openssl", ["ec", "-in", "\(dir)/k.pem", "-out", "\(dir)/sec1.pem"])
        try #require(result.status == 0, "openssl ec failed: \(result.stderr)")
        let sec1 = try TestFiles.read("\(dir)/sec1.pem")
        #expect(sec1.contains("BEGIN EC PRIVATE KEY"))
        return sec1
    }
}
