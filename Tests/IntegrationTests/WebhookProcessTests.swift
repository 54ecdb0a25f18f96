import Foundation
import LatticeTestSupport
import Testing

/// `lattice-controller --webhook-addr`: the injector webhook as the controller process serves it, over real TLS, with
/// the mesh configuration file and the namespace's opt-in from discovery.
@Suite struct WebhookProcessTests {
    /// The AdmissionReview bodies recorded for the controller's unit tests.
    static let reviews = URL(filePath: #filePath).deletingLastPathComponent()
        .appending(path: "../LatticeControllerTests/Fixtures/admission").standardized.path

    @Test func theControllerInjectsAPodOfAnOptedInNamespace() async throws {
        try await TestFiles.withDirectory { directory in
            try ControllerProcess.makeRunbookCertificates(in: directory)
            try FileManager.default.createDirectory(atPath: "\(directory)/webhook", withIntermediateDirectories: true)
            let certificate = try ProcessRunner.run(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=lattice-webhook.lattice.svc", "-addext", "subjectAltName=DNS:lattice-webhook.lattice.svc,IP:127.0.0.1",
                    "-keyout", "\(directory)/webhook/tls.key", "-out", "\(directory)/webhook/tls.crt",
                ]
            )
            try #require(certificate.status == 0, "\(certificate.stderr)")
            try TestFiles.write("namespaces:\n  akko:\n    annotations: {lattice.io/inject: enabled}\nworkloads: []\n", to: "\(directory)/registry.yaml")
            try TestFiles.write("proxy:\n  uid: 2200\n  image: registry.example/lattice-proxy:test\n", to: "\(directory)/config.yaml")
            let controller = try await ControllerProcess(
                directory: directory,
                extraArguments: [
                    "--registry", "\(directory)/registry.yaml", "--webhook-addr", "127.0.0.1:0",
                    "--webhook-tls-dir", "\(directory)/webhook", "--mesh-config", "\(directory)/config.yaml",
                ]
            )
            defer { controller.stop() }
            let addresses = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(filePath: "\(directory)/addresses.json"))) as? [String: String]
            let webhook = try #require(addresses?["webhook"], "no webhook address in \(String(describing: addresses))")
            let posted = try ProcessRunner.run(
                "/usr/bin/curl",
                [
                    "-sS", "--max-time", "20", "--cacert", "\(directory)/webhook/tls.crt", "-H", "Content-Type: application/json",
                    "--data-binary", "@\(Self.reviews)/deployment-pod.json", "https://\(webhook)/inject?timeout=10s",
                ]
            )
            try #require(posted.status == 0, "\(posted.stderr)\n\(controller.process.log)")
            let review = try #require(try JSONSerialization.jsonObject(with: Data(posted.stdout.utf8)) as? [String: Any])
            let response = try #require(review["response"] as? [String: Any], "\(posted.stdout)")
            #expect(response["uid"] as? String == "0a4e5c3b-1d2f-4a6b-8c9d-0e1f2a3b4c5d")
            let encoded = try #require(response["patch"] as? String, "not injected: \(posted.stdout)")
            let patch = String(decoding: try #require(Data(base64Encoded: encoded)), as: UTF8.self)
            // The mesh configuration file's proxy, and the anchors' digest the controller holds.
            #expect(patch.contains("registry.example/lattice-proxy:test"), "\(patch)")
            #expect(patch.contains(#""runAsUser":2200"#), "\(patch)")
            #expect(patch.contains("lattice.io~1trust-anchors-sha256"), "\(patch)")
            let metrics = try controller.admin("/metrics")
            #expect(metrics.contains(#"lattice_webhook_admissions_total{result="injected"} 1"#), "\(metrics)")
        }
    }

    @Test func aWebhookWithoutItsCertificateDirectoryIsRefusedAtStart() throws {
        let result = try ProcessRunner.run(
            ProcessRunner.executable("lattice-controller"),
            ["--tokens-file", "/dev/null", "--issuer-dir", "/nonexistent", "--webhook-addr", "127.0.0.1:0"],
            timeout: 30
        )
        #expect(result.status != 0)
        #expect(result.stderr.contains("--webhook-addr needs --webhook-tls-dir"), "\(result.stderr)")
    }
}
