import Foundation
import LatticeIdentity
import LatticeManifests
import LatticeTestSupport
import Testing
import Yams

@testable import LatticeCLI

/// `lattice check --kubernetes` against API bodies as the API server serves them (Fixtures/kubernetes, written by
/// its generate.py), with certificates made at run time.
@Suite struct KubernetesCheckTests {
    /// Serves `path[?labelSelector=…]` from a recorded body; anything else is a 404, as from the API server.
    struct RecordedAPI: KubernetesObjectReader {
        let bodies: [String: [UInt8]]
        func get(_ path: String, labelSelector: String?) async throws -> [UInt8] {
            let key = labelSelector.map { "\(path)?labelSelector=\($0)" } ?? path
            guard let body = self.bodies[key] else { throw KubernetesCheckError("GET \(key): 404 Not Found") }
            return body
        }
    }

    /// The recorded cluster, with a webhook certificate valid for `days` and the anchor bundle filled in.
    static func cluster(_ name: String, webhookDays: Int, in directory: String) throws -> RecordedAPI {
        let result = try ProcessRunner.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "\(webhookDays)",
                "-subj", "/CN=lattice-webhook.lattice.svc",
                "-addext", "subjectAltName=DNS:lattice-webhook.lattice.svc,DNS:lattice-webhook.lattice.svc.cluster.local",
                "-keyout", "\(directory)/tls.key", "-out", "\(directory)/tls.crt",
            ]
        )
        try #require(result.status == 0, "\(result.stderr)")
        let certificate = try TestFiles.read("\(directory)/tls.crt")
        let key = try TestFiles.read("\(directory)/tls.key")
        let factory = try CertFactory()
        let anchor = factory.anchor
        let anchorsPEM = CertificateLoader.pem([anchor])
        let issuerPEM = CertificateLoader.pem([factory.issuer])
        let sha = try TrustBundle(anchors: [anchor]).digest
        let url = try #require(Bundle.module.url(forResource: "Fixtures/kubernetes/\(name)", withExtension: "json"))
        var text = try String(contentsOf: url, encoding: .utf8)
        text = text.replacingOccurrences(of: "${CA_BUNDLE}", with: Data(certificate.utf8).base64EncodedString())
        text = text.replacingOccurrences(of: "${TLS_CRT}", with: Data(certificate.utf8).base64EncodedString())
        text = text.replacingOccurrences(of: "${TLS_KEY}", with: Data(key.utf8).base64EncodedString())
        text = text.replacingOccurrences(of: "${ISSUER_CRT}", with: Data(issuerPEM.utf8).base64EncodedString())
        text = text.replacingOccurrences(of: "${ISSUER_KEY}", with: Data("(not read)".utf8).base64EncodedString())
        text = text.replacingOccurrences(of: "${ANCHORS_PEM_BASE64}", with: Data(anchorsPEM.utf8).base64EncodedString())
        text = text.replacingOccurrences(of: "${ANCHORS_PEM}", with: anchorsPEM.replacingOccurrences(of: "\n", with: "\\n"))
        text = text.replacingOccurrences(of: "${ANCHORS_SHA256}", with: sha)
        let recorded = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        var bodies: [String: [UInt8]] = [:]
        for (path, body) in recorded {
            bodies[path] = Array(try JSONSerialization.data(withJSONObject: body))
        }
        return RecordedAPI(bodies: bodies)
    }

    static func run(_ api: RecordedAPI) async -> [String: CheckResult] {
        let results = await KubernetesChecks(reader: api, names: .init(), warningWindow: 60 * 86400, now: Date()).run()
        return Dictionary(results.map { ($0.statement, $0) }, uniquingKeysWith: { first, _ in first })
    }

    @Test func aHealthyClusterPassesEveryCheck() async throws {
        try await TestFiles.withDirectory { directory in
            let results = await Self.run(try Self.cluster("healthy", webhookDays: 365, in: directory))
            #expect(results.count == 7)
            for result in results.values {
                #expect(result.passed, "\(result.statement): \(result.detail)")
            }
        }
    }

    @Test func aTroubledClusterNamesEachProblem() async throws {
        try await TestFiles.withDirectory { directory in
            let results = await Self.run(try Self.cluster("troubled", webhookDays: 30, in: directory))
            let controller = try #require(results["control-plane pods are running and ready"])
            #expect(!controller.passed && controller.fatal)
            #expect(controller.detail == "not ready: lattice-controller-6f7d8c9b5-fghij (Running)")
            #expect(results["the injector webhook is configured"]?.passed == true)
            #expect(results.first { $0.key.hasPrefix("the issuer is a CA") }?.value.passed == true)
            let certificate = try #require(results.first { $0.key.hasPrefix("the webhook's certificate") }?.value)
            #expect(!certificate.passed && (certificate.detail.contains("(in 29 days)") || certificate.detail.contains("(in 30 days)")), "\(certificate.detail)")
            // Trino was selected (the akko-mtls ConfigMap) after it started: listed with its owner; the finished Job
            // pod with the same label, the native-sidecar OPA and the unselected Keycloak are not.
            let coverage = try #require(results["every pod that should be meshed is"])
            #expect(!coverage.passed && coverage.fatal)
            #expect(coverage.detail.contains("1 pod(s)"), "\(coverage.detail)")
            #expect(coverage.detail.contains("akko/akko-trino-coordinator-7d9f8b6c5d-x2x4q (ReplicaSet/akko-trino-coordinator-7d9f8b6c5d)"))
            #expect(!coverage.detail.contains("keycloak") && !coverage.detail.contains("opa") && !coverage.detail.contains("migrate"))
            let anchors = try #require(results["meshed pods were given the current trust anchors"])
            #expect(!anchors.passed && !anchors.fatal)
            #expect(anchors.detail == "started with older anchors: akko/akko-opa-5c6d7e8f9-q8w7e")
            let otherMesh = try #require(results["no other mesh's injector acts on the meshed namespaces"])
            #expect(!otherMesh.passed && otherMesh.fatal)
            #expect(otherMesh.detail == "linkerd-proxy-injector-webhook-config (linkerd-proxy-injector.linkerd.io) selects akko", "\(otherMesh.detail)")
        }
    }

    /// What `lattice install` renders is what `lattice check --kubernetes` looks for: the objects install wrote,
    /// served back as the API would, pass the control-plane checks about the issuer, the webhook and its certificate.
    @Test func theObjectsInstallWritesAreTheOnesCheckReads() async throws {
        try await TestFiles.withDirectory { dir in
            try CertificateRequest(subject: "root.lattice.cluster.local", certificatePath: "\(dir)/ca.crt", keyPath: "\(dir)/ca.key", profile: .rootCA)
                .run(now: Date())
            try CertificateRequest(
                subject: "identity.lattice.cluster.local", certificatePath: "\(dir)/issuer.crt", keyPath: "\(dir)/issuer.key",
                profile: .intermediateCA, caPath: "\(dir)/ca.crt", caKeyPath: "\(dir)/ca.key", notAfter: "8760h"
            ).run(now: Date())
            let manifests = try await ControlPlaneInstall(
                namespace: "mesh-system", trustAnchorsFile: "\(dir)/ca.crt", issuerCertificateFile: "\(dir)/issuer.crt",
                issuerKeyFile: "\(dir)/issuer.key"
            ).render(now: Date())
            var bodies: [String: [UInt8]] = [:]
            for manifest in manifests {
                let object = try #require(try Yams.load(yaml: manifest.yaml))
                let json = Array(try JSONSerialization.data(withJSONObject: object))
                let path: String
                switch manifest.kind {
                case "Secret": path = "/api/v1/namespaces/\(manifest.namespace ?? "")/secrets/\(manifest.name)"
                case "ConfigMap": path = "/api/v1/namespaces/\(manifest.namespace ?? "")/configmaps/\(manifest.name)"
                case "MutatingWebhookConfiguration": path = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/\(manifest.name)"
                default: continue
                }
                bodies[path] = json
            }
            var names = KubernetesChecks.Names()
            names.namespace = "mesh-system"
            let results = await KubernetesChecks(reader: RecordedAPI(bodies: bodies), names: names, warningWindow: 60 * 86400, now: Date()).run()
            for statement in ["the issuer is a CA", "the injector webhook is configured", "the webhook's certificate"] {
                let result = try #require(results.first { $0.statement.hasPrefix(statement) }, "no check \(statement)")
                #expect(result.passed, "\(result.statement): \(result.detail)")
            }
        }
    }

    @Test func anAbsentControlPlaneSaysHowToInstallIt() async throws {
        let results = await Self.run(RecordedAPI(bodies: ["/api/v1/namespaces/lattice/pods?labelSelector=app.kubernetes.io/name=lattice-controller": Array(#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[]}"#.utf8)]))
        let controller = try #require(results["control-plane pods are running and ready"])
        #expect(controller.detail.contains("install the control plane"))
        #expect(results["the injector webhook is configured"]?.detail.contains("404") == true)
    }

    @Test func labelSelectorsEvaluateAsTheAPIServerDoes() {
        let selector = LabelSelector(
            APIObject([
                "matchLabels": ["team": "data"],
                "matchExpressions": [
                    ["key": "env", "operator": "In", "values": ["prod", "staging"]],
                    ["key": "opt-out", "operator": "DoesNotExist"],
                    ["key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]],
                ],
            ])
        )
        #expect(selector.matches(["team": "data", "env": "prod", "kubernetes.io/metadata.name": "akko"]))
        #expect(!selector.matches(["team": "data", "env": "dev"]))
        #expect(!selector.matches(["team": "data", "env": "prod", "opt-out": ""]))
        #expect(!selector.matches(["team": "data", "env": "prod", "kubernetes.io/metadata.name": "kube-system"]))
        #expect(!selector.matches(["env": "prod"]))
        #expect(LabelSelector(nil).matches([:]))
    }
}
