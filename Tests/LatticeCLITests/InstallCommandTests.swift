import ArgumentParser
import Foundation
import LatticeCLI
import LatticeIdentity
import LatticeTestSupport
import Testing

@Suite struct InstallCommandTests {
    /// The runbook's chain, made by `lattice certs create` (keys 0600), with an issuer valid for `days`.
    func makeChain(in dir: String, issuerDays: Int = 365) throws {
        try CertificateRequest(
            subject: "root.lattice.cluster.local",
            certificatePath: "\(dir)/ca.crt",
            keyPath: "\(dir)/ca.key",
            profile: .rootCA
        ).run(now: Date())
        try CertificateRequest(
            subject: "identity.lattice.cluster.local",
            certificatePath: "\(dir)/issuer.crt",
            keyPath: "\(dir)/issuer.key",
            profile: .intermediateCA,
            caPath: "\(dir)/ca.crt",
            caKeyPath: "\(dir)/ca.key",
            notAfter: "\(issuerDays * 24)h"
        ).run(now: Date())
        #expect(TestFiles.mode("\(dir)/issuer.key") == 0o600)
    }

    func arguments(_ dir: String, issuer: String = "issuer") -> [String] {
        [
            "install", "--identity-trust-anchors-file", "\(dir)/ca.crt",
            "--identity-issuer-certificate-file", "\(dir)/\(issuer).crt",
            "--identity-issuer-key-file", "\(dir)/\(issuer).key",
        ]
    }

    @Test func theRunbookFilesInstallTheControlPlane() async throws {
        try await TestFiles.withDirectory { dir in
            try self.makeChain(in: dir)
            try TestFiles.write("controller:\n  replicas: 2\n", to: "\(dir)/values.yaml")
            let parsed = try LatticeCommand.parseAsRoot(
                self.arguments(dir) + ["-f", "\(dir)/values.yaml", "--set", "proxy.logLevel=debug", "--ha"]
            )
            let command = try #require(parsed as? InstallCommand)
            let yaml = try await command.render(now: Date())
            #expect(yaml.hasPrefix("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: lattice\n"))
            #expect(yaml.contains("kind: PodDisruptionBudget"))
            #expect(yaml.contains("replicas: 2"), "-f values.yaml wins over --ha's 3")
            #expect(yaml.contains("logLevel: debug"))
            #expect(yaml.contains("failurePolicy: Fail"))
            let anchors = try TestFiles.read("\(dir)/ca.crt")
            #expect(yaml.contains(Data(anchors.utf8).base64EncodedString()))
        }
    }

    @Test func theBinaryPrintsNothingAndNamesTheFixWhenTheIssuerExpiresSoon() async throws {
        try await TestFiles.withDirectory { dir in
            try self.makeChain(in: dir, issuerDays: 30)
            let result = try ProcessRunner.run(ProcessRunner.executable("lattice"), self.arguments(dir))
            #expect(result.status != 0)
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.contains("install needs at least 60 days"))
            #expect(result.stderr.contains("lattice certs create"))
        }
    }

    @Test func theBinaryRefusesAnIssuerFromAnotherAnchor() async throws {
        try await TestFiles.withDirectory { dir in
            try self.makeChain(in: dir)
            let other = "\(dir)/other"
            try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
            try self.makeChain(in: other)
            var arguments = self.arguments(dir)
            arguments[2] = "\(other)/ca.crt"
            let result = try ProcessRunner.run(ProcessRunner.executable("lattice"), arguments)
            #expect(result.status != 0)
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.contains("not signed by any trust anchor"))
        }
    }

    @Test func theBinaryRefusesBothStrategies() async throws {
        try await TestFiles.withDirectory { dir in
            try self.makeChain(in: dir)
            let result = try ProcessRunner.run(
                ProcessRunner.executable("lattice"),
                self.arguments(dir) + [
                    "--set", "injectNamespace=true,injectTarget.namespace=akko",
                    "--set", "global.serviceMesh.linkerdInject.aden=true",
                ]
            )
            #expect(result.status != 0)
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.contains("--set global.serviceMesh.linkerdInject.aden=false"))
        }
    }

    @Test func theBinaryPrintsTheObjects() async throws {
        try await TestFiles.withDirectory { dir in
            try self.makeChain(in: dir)
            let result = try ProcessRunner.run(ProcessRunner.executable("lattice"), self.arguments(dir))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.isEmpty)
            #expect(result.stdout.split(separator: "\n").filter { $0 == "---" }.count == 13, "13 documents")
        }
    }
}
