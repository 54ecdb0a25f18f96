import Crypto
import Foundation
import GRPCCore
import LatticeAPI
import LatticeIdentity
import LatticeModel
import LatticeTestSupport
import SwiftASN1
import Testing
import X509

extension Tag {
    @Tag static var integration: Self
}

@Suite(.tags(.integration), .serialized, .timeLimit(.minutes(5)))
struct IdentityServiceTests {
    static let web = "web.default.serviceaccount.identity.lattice.cluster.local"

    static func request(identity: String = web, token: String = "web-token", csr: [UInt8]) -> Lattice_Identity_V1_CertifyRequest {
        var request = Lattice_Identity_V1_CertifyRequest()
        request.identity = identity
        request.token = Data(token.utf8)
        request.certificateSigningRequest = Data(csr)
        return request
    }

    static func csr(names: [GeneralName], key: Certificate.PrivateKey) throws -> [UInt8] {
        let extensions = try Certificate.Extensions { SubjectAlternativeNames(names) }
        let csr = try CertificateSigningRequest(
            version: .v1,
            subject: try DistinguishedName { CommonName("x") },
            privateKey: key,
            attributes: try CertificateSigningRequest.Attributes([.init(ExtensionRequest(extensions: extensions))])
        )
        var serializer = DER.Serializer()
        try serializer.serialize(csr)
        return serializer.serializedBytes
    }

    /// The refusal's gRPC code and `lattice-identity-error` trailer, or nil when the call succeeded.
    static func refusal(
        _ client: Lattice_Identity_V1_Identity.Client<some ClientTransport>,
        _ request: Lattice_Identity_V1_CertifyRequest
    ) async -> (RPCError.Code, String)? {
        do {
            _ = try await client.certify(request)
            return nil
        } catch let error as RPCError {
            let reason = error.metadata[stringValues: "lattice-identity-error"].first(where: { _ in true }) ?? ""
            return (error.code, reason)
        } catch {
            return (.unknown, "\(error)")
        }
    }

    @Test func signsARealCSROverTLSAndOpenSSLVerifiesTheLeaf() async throws {
        try await TestFiles.withDirectory { dir in
            try ControllerProcess.makeRunbookCertificates(in: dir)
            let controller = try await ControllerProcess(directory: dir)
            defer { controller.stop() }
            let key = P256.Signing.PrivateKey()
            let response = try await controller.withIdentityClient { client in
                try await client.certify(Self.request(csr: try CSRBuilder.make(identity: Self.web, key: key)))
            }
            let leaf = try Certificate(derEncoded: Array(response.leafCertificate))
            #expect(leaf.dnsNames == [Self.web])
            #expect(leaf.uris == ["spiffe://cluster.local/ns/default/sa/web"])
            #expect(KeyLoader.matches(key, leaf))
            #expect(response.intermediateCertificates.count == 1)
            let lifetime = Double(response.validUntil.seconds) - Date().timeIntervalSince1970
            #expect(abs(lifetime - 86_400) < 120)
            try TestFiles.write(CertificateLoader.pem([leaf]), to: "\(dir)/leaf.crt")
            let verify = try ProcessRunner.run(
                "/usr/bin/openssl",
                ["verify", "-CAfile", "ca.crt", "-untrusted", "issuer.crt", "leaf.crt"],
                currentDirectory: dir
            )
            #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
            #expect(try controller.admin("/ready").contains("ready"))
            let metrics = try controller.admin("/metrics")
            #expect(metrics.contains(#"lattice_identity_certificates_issued_total{result="ok"} 1"#))
            #expect(metrics.contains("lattice_identity_issuer_expiration_timestamp_seconds"))
        }
    }

    @Test func eachBadRequestIsRefusedWithItsOwnCode() async throws {
        try await TestFiles.withDirectory { dir in
            try ControllerProcess.makeRunbookCertificates(in: dir)
            let controller = try await ControllerProcess(directory: dir)
            defer { controller.stop() }
            let key = P256.Signing.PrivateKey()
            let good = try CSRBuilder.make(identity: Self.web, key: key)
            let db = "db.default.serviceaccount.identity.lattice.cluster.local"
            let rsaCSR = try Self.opensslRSACSR(in: dir)
            let cases: [(String, Lattice_Identity_V1_CertifyRequest, RPCError.Code, String)] = [
                ("unknown token", Self.request(token: "who-knows", csr: good), .unauthenticated, "unauthenticated"),
                ("expired token", Self.request(token: "expired-token", csr: good), .unauthenticated, "unauthenticated"),
                ("another's token", Self.request(token: "db-token", csr: good), .permissionDenied, "identity_mismatch"),
                ("malformed CSR", Self.request(csr: [0x30, 0x82, 0x01]), .invalidArgument, "malformed_csr"),
                ("oversized CSR", Self.request(csr: [UInt8](repeating: 0x41, count: 20_000)), .invalidArgument, "csr_too_large"),
                ("wrong SAN", Self.request(csr: try CSRBuilder.make(identity: db, key: key)), .invalidArgument, "wrong_san"),
                ("several SANs", Self.request(csr: try Self.csr(names: [.dnsName(Self.web), .dnsName(db)], key: .init(key))),
                 .invalidArgument, "multiple_sans"),
                ("P-384 key", Self.request(csr: try Self.csr(names: [.dnsName(Self.web)], key: .init(P384.Signing.PrivateKey()))),
                 .invalidArgument, "unsupported_key"),
                ("RSA key", Self.request(csr: rsaCSR), .invalidArgument, "unsupported_key"),
                ("not an identity", Self.request(identity: "web.default", csr: good), .invalidArgument, "invalid_identity"),
            ]
            try await controller.withIdentityClient { client in
                for (name, request, code, reason) in cases {
                    let refusal = await Self.refusal(client, request)
                    #expect(refusal?.0 == code, "\(name)")
                    #expect(refusal?.1 == reason, "\(name)")
                }
                // Far past the transport's 64 KiB message limit: the stream is reset before the message is read (the
                // client sees RESOURCE_EXHAUSTED or UNAVAILABLE), and the server lives on.
                let huge = await Self.refusal(client, Self.request(csr: [UInt8](repeating: 0x41, count: 200_000)))
                #expect(huge?.0 == .resourceExhausted || huge?.0 == .unavailable)
                #expect(await Self.refusal(client, Self.request(csr: good)) == nil)
            }
            let metrics = try controller.admin("/metrics")
            for label in ["unauthenticated", "identity_mismatch", "malformed_csr", "csr_too_large", "wrong_san",
                          "multiple_sans", "unsupported_key", "invalid_identity"] {
                #expect(metrics.contains(#"lattice_identity_certificates_issued_total{result="\#(label)"}"#), "\(label)")
            }
        }
    }

    @Test func aFloodIsRefusedWithoutBlockingTheService() async throws {
        try await TestFiles.withDirectory { dir in
            try ControllerProcess.makeRunbookCertificates(in: dir)
            let controller = try await ControllerProcess(directory: dir, extraArguments: ["--per-peer-rate", "20"])
            defer { controller.stop() }
            let csr = try CSRBuilder.make(identity: Self.web, key: P256.Signing.PrivateKey())
            let outcomes = try await controller.withIdentityClient { client in
                try await withThrowingTaskGroup(of: String.self) { group in
                    for _ in 0..<300 {
                        group.addTask { await Self.refusal(client, Self.request(csr: csr))?.1 ?? "ok" }
                    }
                    var outcomes: [String: Int] = [:]
                    for try await outcome in group { outcomes[outcome, default: 0] += 1 }
                    return outcomes
                }
            }
            // 20/s with a burst of 40: most of 300 at once are refused. The bound leaves room for a loaded machine,
            // where the flood takes seconds and the bucket refills meanwhile (without a limiter none would be).
            #expect((outcomes["rate_limited"] ?? 0) >= 150, "\(outcomes)")
            #expect((outcomes["ok"] ?? 0) >= 20, "\(outcomes)")
            #expect(outcomes.keys.allSatisfy { $0 == "ok" || $0 == "rate_limited" }, "\(outcomes)")
            // The bucket refills: the caller is served again.
            let servedAgain = await eventually(timeout: .seconds(10)) {
                (try? await controller.withIdentityClient { await Self.refusal($0, Self.request(csr: csr)) == nil }) ?? false
            }
            #expect(servedAgain)
            #expect(try controller.admin("/live").contains("live"))
        }
    }

    @Test func replacingTheIssuerWhileRequestsFlowFailsNone() async throws {
        try await TestFiles.withDirectory { dir in
            try ControllerProcess.makeRunbookCertificates(in: dir)
            let controller = try await ControllerProcess(directory: dir, extraArguments: ["--per-peer-rate", "0"])
            defer { controller.stop() }
            let original = try CertificateLoader.certificates(path: "\(dir)/issuer.crt")[0]
            // The runbook's issuer renewal: a new issuer from the same anchor.
            let lattice = ProcessRunner.executable("lattice")
            let renew = try ProcessRunner.run(
                lattice,
                ["certs", "create", "identity.linkerd.cluster.local", "issuer-renewed.crt", "issuer-renewed.key",
                 "--profile", "intermediate-ca", "--not-after", "8760h", "--no-password", "--insecure",
                 "--ca", "ca.crt", "--ca-key", "ca.key"],
                currentDirectory: dir
            )
            try #require(renew.status == 0, "\(renew.stderr)")
            let renewed = try CertificateLoader.certificates(path: "\(dir)/issuer-renewed.crt")[0]

            let stop = Flag()
            let certified = Counter()
            let results = try await controller.withIdentityClient { client in
                try await withThrowingTaskGroup(of: (ok: Int, failed: [String], issuers: Set<[UInt8]>).self) { group in
                    for _ in 0..<4 {
                        group.addTask {
                            var ok = 0
                            var failed: [String] = []
                            var issuers = Set<[UInt8]>()
                            let key = P256.Signing.PrivateKey()
                            let csr = try CSRBuilder.make(identity: Self.web, key: key)
                            let deadline = Date().addingTimeInterval(120)
                            while !stop.isSet && Date() < deadline {
                                do {
                                    let response = try await client.certify(Self.request(csr: csr))
                                    ok += 1
                                    certified.add()
                                    issuers.insert(Array(response.intermediateCertificates[0]))
                                } catch {
                                    failed.append("\(error)")
                                }
                            }
                            return (ok, failed, issuers)
                        }
                    }
                    // Let requests flow (counted, not timed: a loaded machine is slow), swap the files (each by rename,
                    // as the kubelet does), keep going.
                    #expect(await eventually(timeout: .seconds(60)) { certified.value >= 10 })
                    try Self.replace("\(dir)/issuer.key", with: "\(dir)/issuer-renewed.key")
                    try Self.replace("\(dir)/issuer.crt", with: "\(dir)/issuer-renewed.crt")
                    let switched = await eventually(timeout: .seconds(10)) {
                        controller.process.log.contains("CN=identity.linkerd.cluster.local")
                            && controller.process.log.components(separatedBy: "issuer loaded").count >= 3
                    }
                    #expect(switched, "\(controller.process.log)")
                    let atSwitch = certified.value
                    #expect(await eventually(timeout: .seconds(60)) { certified.value >= atSwitch + 10 })
                    stop.set()
                    var total = (ok: 0, failed: [String](), issuers: Set<[UInt8]>())
                    for try await part in group {
                        total.ok += part.ok
                        total.failed += part.failed
                        total.issuers.formUnion(part.issuers)
                    }
                    return total
                }
            }
            #expect(results.failed.isEmpty, "\(results.failed.prefix(3))")
            #expect(results.ok > 20)
            #expect(results.issuers == [original.derBytes, renewed.derBytes])
        }
    }

    static func replace(_ path: String, with source: String) throws {
        let temp = path + ".swap"
        try FileManager.default.copyItem(atPath: source, toPath: temp)
        _ = rename(temp, path)
    }

    static func opensslRSACSR(in dir: String) throws -> [UInt8] {
        let result = try ProcessRunner.run(
            "/usr/bin/openssl",
            ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa.key", "-subj", "/CN=\(web)",
             "-addext", "subjectAltName=DNS:\(web)", "-outform", "DER", "-out", "rsa.csr"],
            currentDirectory: dir
        )
        try #require(result.status == 0, "\(result.stderr)")
        return Array(try Data(contentsOf: URL(filePath: "\(dir)/rsa.csr")))
    }
}

/// A one-way flag shared by test tasks.
final class Counter: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var count = 0
    var value: Int { self.lock.withLock { self.count } }
    func add() { self.lock.withLock { self.count += 1 } }
}

final class Flag: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { self.lock.withLock { self.value } }
    func set() { self.lock.withLock { self.value = true } }
}
