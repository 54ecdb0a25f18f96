import ArgumentParser
import Foundation
import LatticeCLI
import LatticeIdentity
import LatticeTestSupport
import Testing
import X509

@Suite struct CertsCreateTests {
    let identity = "web.default.serviceaccount.identity.lattice.cluster.local"

    func makeRunbookChain(in dir: String) throws {
        try CertificateRequest(
            subject: "root.linkerd.cluster.local",
            certificatePath: "\(dir)/ca.crt",
            keyPath: "\(dir)/ca.key",
            profile: .rootCA
        ).run(now: Date())
        try CertificateRequest(
            subject: "identity.linkerd.cluster.local",
            certificatePath: "\(dir)/issuer.crt",
            keyPath: "\(dir)/issuer.key",
            profile: .intermediateCA,
            caPath: "\(dir)/ca.crt",
            caKeyPath: "\(dir)/ca.key",
            notAfter: "8760h"
        ).run(now: Date())
    }

    /// A leaf for `identity` signed by `issuer.crt`/`issuer.key` in `dir`, written to `leaf.crt`/`leaf.key`.
    func issueLeaf(in dir: String) throws {
        try CertificateRequest(
            subject: self.identity,
            certificatePath: "\(dir)/leaf.crt",
            keyPath: "\(dir)/leaf.key",
            profile: .leaf,
            caPath: "\(dir)/issuer.crt",
            caKeyPath: "\(dir)/issuer.key"
        ).run(now: Date())
    }

    @Test func runbookChainIsAcceptedByOpenSSL() async throws {
        try await TestFiles.withDirectory { dir in
            try self.makeRunbookChain(in: dir)
            try self.issueLeaf(in: dir)
            for key in ["ca.key", "issuer.key", "leaf.key"] {
                #expect(TestFiles.mode("\(dir)/\(key)") == 0o600)
            }
            let verify = try OpenSSL.run(
                ["verify", "-CAfile", "ca.crt", "-untrusted", "issuer.crt", "leaf.crt"],
                in: dir
            )
            #expect(verify.stdout.contains("leaf.crt: OK"))
            let root = try OpenSSL.run(["x509", "-in", "ca.crt", "-noout", "-text"], in: dir).stdout
            #expect(root.contains("CA:TRUE, pathlen:1"))
            #expect(root.contains("Certificate Sign, CRL Sign"))
            let issuer = try OpenSSL.run(["x509", "-in", "issuer.crt", "-noout", "-text"], in: dir).stdout
            #expect(issuer.contains("CA:TRUE, pathlen:0"))
            let leaf = try OpenSSL.run(["x509", "-in", "leaf.crt", "-noout", "-text"], in: dir).stdout
            #expect(leaf.contains("DNS:\(self.identity)"))
            #expect(leaf.contains("URI:spiffe://cluster.local/ns/default/sa/web"))
            #expect(leaf.contains("TLS Web Server Authentication, TLS Web Client Authentication"))
            #expect(leaf.contains("CA:FALSE"))
            // openssl can use the keys: each matches its certificate.
            let keyPub = try OpenSSL.run(["pkey", "-in", "leaf.key", "-pubout"], in: dir).stdout
            let certPub = try OpenSSL.run(["x509", "-in", "leaf.crt", "-noout", "-pubkey"], in: dir).stdout
            #expect(keyPub == certPub)
        }
    }

    @Test func stepStyleCertificatesFromOpenSSLAreAccepted() async throws {
        try await TestFiles.withDirectory { dir in
            try OpenSSL.makeStepStyleChain(in: dir)
            let issuer = try await IssuerCredentials.load(
                certificatePath: "\(dir)/issuer.crt",
                keyPath: "\(dir)/issuer.key",
                anchorsPath: "\(dir)/root.crt",
                now: Date()
            )
            #expect(issuer.certificate.subject.description == "CN=identity.linkerd.cluster.local")
            try self.issueLeaf(in: dir)
            try OpenSSL.run(["verify", "-CAfile", "root.crt", "-untrusted", "issuer.crt", "leaf.crt"], in: dir)
        }
    }

    @Test func rsaIssuerIsRefusedBecauseItIsRSA() async throws {
        try await TestFiles.withDirectory { dir in
            try OpenSSL.makeStepStyleChain(in: dir, rsaIssuer: true)
            let error = await #expect(throws: IdentityError.self) {
                try await IssuerCredentials.load(
                    certificatePath: "\(dir)/issuer.crt",
                    keyPath: "\(dir)/issuer.key",
                    anchorsPath: "\(dir)/root.crt",
                    now: Date()
                )
            }
            #expect(error?.code == .unsupportedKey)
            #expect(error?.reason.contains("RSA") == true)
        }
    }

    @Test func refusesToOverwriteAndWritesNothingOnError() async throws {
        try await TestFiles.withDirectory { dir in
            try self.makeRunbookChain(in: dir)
            let before = try TestFiles.read("\(dir)/ca.crt")
            let again = CertificateRequest(
                subject: "root2",
                certificatePath: "\(dir)/ca.crt",
                keyPath: "\(dir)/new.key",
                profile: .rootCA
            )
            #expect(throws: IdentityError(.fileExists, "")) { try again.run(now: Date()) }
            #expect(try TestFiles.read("\(dir)/ca.crt") == before)
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/new.key"))

            // Each fault: a one-line error naming the file, and no file written.
            let cases: [(CertificateRequest, IdentityError.Code)] = [
                // key that does not match its certificate
                (.init(subject: self.identity, certificatePath: "\(dir)/l.crt", keyPath: "\(dir)/l.key", profile: .leaf,
                       caPath: "\(dir)/issuer.crt", caKeyPath: "\(dir)/ca.key"), .keyMismatch),
                // a pathlen-0 issuer asked to sign a CA
                (.init(subject: "sub", certificatePath: "\(dir)/l.crt", keyPath: "\(dir)/l.key", profile: .intermediateCA,
                       caPath: "\(dir)/issuer.crt", caKeyPath: "\(dir)/issuer.key"), .pathLengthExceeded),
                // a SAN that is not an identity
                (.init(subject: self.identity, certificatePath: "\(dir)/l.crt", keyPath: "\(dir)/l.key", profile: .leaf,
                       caPath: "\(dir)/issuer.crt", caKeyPath: "\(dir)/issuer.key", sans: ["example.com"]), .invalidName),
                // a subject that is not an identity
                (.init(subject: "web", certificatePath: "\(dir)/l.crt", keyPath: "\(dir)/l.key", profile: .leaf,
                       caPath: "\(dir)/issuer.crt", caKeyPath: "\(dir)/issuer.key"), .invalidName),
                // a bad --not-after
                (.init(subject: "r", certificatePath: "\(dir)/l.crt", keyPath: "\(dir)/l.key", profile: .rootCA,
                       notAfter: "next year"), .invalidArgument),
                // a missing CA
                (.init(subject: self.identity, certificatePath: "\(dir)/l.crt", keyPath: "\(dir)/l.key", profile: .leaf),
                 .invalidArgument),
            ]
            for (request, code) in cases {
                let error = #expect(throws: IdentityError.self) { try request.run(now: Date()) }
                #expect(error?.code == code, "\(error?.reason ?? "")")
                #expect(error?.reason.contains("\n") == false)
                #expect(!FileManager.default.fileExists(atPath: "\(dir)/l.crt"))
                #expect(!FileManager.default.fileExists(atPath: "\(dir)/l.key"))
            }
            // A leaf certificate used as a CA.
            try CertificateRequest(
                subject: self.identity, certificatePath: "\(dir)/leaf.crt", keyPath: "\(dir)/leaf.key", profile: .leaf,
                caPath: "\(dir)/issuer.crt", caKeyPath: "\(dir)/issuer.key"
            ).run(now: Date())
            let notCA = CertificateRequest(
                subject: self.identity, certificatePath: "\(dir)/l.crt", keyPath: "\(dir)/l.key", profile: .leaf,
                caPath: "\(dir)/leaf.crt", caKeyPath: "\(dir)/leaf.key"
            )
            #expect(throws: IdentityError(.notACertificateAuthority, "")) { try notCA.run(now: Date()) }
            // An expired issuer.
            let expired = CertificateRequest(
                subject: self.identity, certificatePath: "\(dir)/l.crt", keyPath: "\(dir)/l.key", profile: .leaf,
                caPath: "\(dir)/issuer.crt", caKeyPath: "\(dir)/issuer.key"
            )
            #expect(throws: IdentityError(.expired, "")) { try expired.run(now: Date().addingTimeInterval(2 * 365 * 86_400)) }
            // A garbled CA file.
            try TestFiles.write("-----BEGIN CERTIFICATE-----\nMIIB\n", to: "\(dir)/garbled.crt")
            let garbled = CertificateRequest(
                subject: self.identity, certificatePath: "\(dir)/l.crt", keyPath: "\(dir)/l.key", profile: .leaf,
                caPath: "\(dir)/garbled.crt", caKeyPath: "\(dir)/issuer.key"
            )
            let garbledError = #expect(throws: IdentityError.self) { try garbled.run(now: Date()) }
            #expect(garbledError?.code == .malformedPEM)
            #expect(garbledError?.reason.contains("garbled.crt") == true)
        }
    }

    @Test func flagsFollowStep() throws {
        #expect(throws: (any Error).self) {
            try LatticeCommand.parseAsRoot(["certs", "create", "root", "ca.crt", "ca.key", "--profile", "root-ca"])
        }
        #expect(throws: (any Error).self) {
            try LatticeCommand.parseAsRoot(["certs", "create", "root", "ca.crt", "ca.key", "--profile", "root-ca", "--no-password"])
        }
        #expect(throws: (any Error).self) {
            try LatticeCommand.parseAsRoot(["certs", "create", "r", "a", "b", "--profile", "sub-ca", "--no-password", "--insecure"])
        }
        let ok = try LatticeCommand.parseAsRoot(
            ["certs", "create", "root", "ca.crt", "ca.key", "--profile", "root-ca", "--no-password", "--insecure"]
        )
        #expect(ok is CertsCreateCommand)
    }
}
