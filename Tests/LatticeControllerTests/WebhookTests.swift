import Foundation
import LatticeController
import LatticeInjector
import LatticeObservability
import LatticeTestSupport
import Logging
import ServiceLifecycle
import Testing

/// The injector's admission webhook: AdmissionReview v1 bodies as the API server posts them, over real TLS.
@Suite struct WebhookTests {
    static let reviews = ["deployment-pod", "statefulset-pod", "job-pod", "hostnetwork-pod"]

    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/admission/\(name)", withExtension: "json"))
        return Array(try Data(contentsOf: url))
    }

    /// Answers every Pod with a fixed patch, and records what it was asked.
    final class RecordingMutator: PodMutator, @unchecked Sendable {
        let lock = NSLock()
        var seen: [(namespace: String, pod: [String: Any])] = []

        func mutate(pod value: JSONValue, namespace: String) throws -> PodMutation {
            guard let pod = try JSONSerialization.jsonObject(with: Data(value.serialized())) as? [String: Any] else {
                throw CocoaError(.coderInvalidValue)
            }
            self.lock.withLock { self.seen.append((namespace, pod)) }
            let spec = pod["spec"] as? [String: Any] ?? [:]
            if spec["hostNetwork"] as? Bool == true {
                return PodMutation(patch: nil, injected: false, message: "skipped: hostNetwork", warning: "hostNetwork pods are not meshed")
            }
            return PodMutation(patch: Array(#"[{"op":"add","path":"/metadata/labels/meshed","value":"yes"}]"#.utf8), injected: true, message: "injected")
        }
    }

    static func responder(_ mutator: any PodMutator, registry: MetricsRegistry = MetricsRegistry()) -> AdmissionResponder {
        AdmissionResponder(mutator: mutator, metrics: WebhookMetrics(factory: registry.factory), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    static func response(_ body: [UInt8]) throws -> [String: Any] {
        let review = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(review["apiVersion"] as? String == "admission.k8s.io/v1")
        #expect(review["kind"] as? String == "AdmissionReview")
        return try #require(review["response"] as? [String: Any])
    }

    @Test(arguments: reviews)
    func eachRecordedReviewIsReadAsTheAPIServerSendsIt(name: String) throws {
        let request = try AdmissionReviewCodec.decode(try Self.fixture(name))
        #expect(request.kind == "/v1/Pod")
        #expect(request.operation == "CREATE")
        #expect(request.namespace == "akko")
        #expect(request.isPodCreation)
        #expect(!request.uid.isEmpty)
        // Deployment and Job pods have no name yet, only generateName.
        if name == "statefulset-pod" { #expect(request.objectName == "akko-postgresql-0") } else { #expect(request.objectName.hasSuffix("-*")) }
        #expect(request.object["kind"]?.stringValue == "Pod")
    }

    @Test func aPodIsAnsweredWithItsUIDAndABase64JSONPatch() throws {
        let mutator = RecordingMutator()
        let registry = MetricsRegistry()
        let answer = Self.responder(mutator, registry: registry).answer(try Self.fixture("deployment-pod"))
        #expect(answer.httpStatus == 200)
        let response = try Self.response(answer.body)
        #expect(response["uid"] as? String == "0a4e5c3b-1d2f-4a6b-8c9d-0e1f2a3b4c5d")
        #expect(response["allowed"] as? Bool == true)
        #expect(response["patchType"] as? String == "JSONPatch")
        let encoded = try #require(response["patch"] as? String)
        let patch = try #require(Data(base64Encoded: encoded))
        #expect(String(decoding: patch, as: UTF8.self).contains("/metadata/labels/meshed"))
        #expect(mutator.seen.first?.namespace == "akko")
        #expect(String(decoding: registry.exposition(), as: UTF8.self).contains(#"lattice_webhook_admissions_total{result="injected"} 1"#))

        let skipped = try Self.response(Self.responder(mutator).answer(try Self.fixture("hostnetwork-pod")).body)
        #expect(skipped["allowed"] as? Bool == true)
        #expect(skipped["patch"] == nil)
        #expect(skipped["warnings"] as? [String] == ["hostNetwork pods are not meshed"])
    }

    @Test(arguments: [
        ("not json at all", "not JSON", 400),
        ("[1,2]", "not an object", 400),
        (#"{"apiVersion":"v1","kind":"Pod"}"#, "expected 'AdmissionReview'", 400),
        (#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#, "no 'request'", 400),
        (#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u1"}}"#, "admissionReviewVersions: [v1]", 200),
        (#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"kind":{"kind":"Pod","version":"v1"}}}"#, "request.uid is missing", 400),
        (#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u2","operation":"CREATE"}}"#, "request.object is missing", 200),
    ])
    func aMalformedReviewGetsAnAnswerNamingTheProblem(body: String, reason: String, status: Int) throws {
        let registry = MetricsRegistry()
        let answer = Self.responder(RecordingMutator(), registry: registry).answer(Array(body.utf8))
        #expect(answer.httpStatus == status)
        let response = try Self.response(answer.body)
        #expect(response["allowed"] as? Bool == true, "a broken review must not block pod creation")
        let message = try #require((response["status"] as? [String: Any])?["message"] as? String)
        #expect(message.contains(reason), "\(message)")
        #expect(String(decoding: registry.exposition(), as: UTF8.self).contains(#"lattice_webhook_admissions_total{result="malformed"} 1"#))
    }

    @Test func aPodTheInjectorCannotReadIsAllowedWithTheReason() throws {
        struct Refusing: PodMutator {
            struct Unreadable: Error, CustomStringConvertible { var description: String { "spec.containers is not a list" } }
            func mutate(pod: JSONValue, namespace: String) throws -> PodMutation { throw Unreadable() }
        }
        let response = try Self.response(Self.responder(Refusing()).answer(try Self.fixture("job-pod")).body)
        #expect(response["uid"] as? String == "2c6a7e5d-3f4b-4c8d-8e1f-2a3b4c5d6e7f")
        #expect(response["allowed"] as? Bool == true)
        #expect(((response["status"] as? [String: Any])?["message"] as? String)?.contains("spec.containers is not a list") == true)
    }

    /// The real injector behind the webhook: each recorded Pod (but the hostNetwork one) is injected, stamped with the
    /// anchors' digest, and the patched Pod validates against the Kubernetes 1.27 schemas (the classic sidecar).
    @Test func theRealInjectorsPatchesGiveValidPods() throws {
        let anchors = try CertFactory().bundle
        let mutator = InjectorPodMutator(
            config: { MeshConfig() },
            nativeSidecar: { _ in false },
            namespaces: { NamespaceContext(name: $0, annotations: ["lattice.io/inject": "enabled"], labels: [:]) },
            anchors: { anchors }
        )
        let responder = Self.responder(mutator)
        var patched: [String] = []
        for name in Self.reviews {
            let body = try Self.fixture(name)
            let response = try Self.response(responder.answer(body).body)
            #expect(response["allowed"] as? Bool == true)
            guard name != "hostnetwork-pod" else {
                #expect(response["patch"] == nil, "a hostNetwork pod must not be injected")
                continue
            }
            let encoded = try #require(response["patch"] as? String, "\(name): no patch in \(response)")
            let patch = try JSONPatch(parsing: Array(try #require(Data(base64Encoded: encoded))))
            let pod = try AdmissionReviewCodec.decode(body).object
            let result = try patch.apply(to: pod)
            let text = result.yamlText
            #expect(text.contains("name: lattice-proxy") && text.contains("name: lattice-init"), "\(name)")
            #expect(result["metadata"]?["annotations"]?["lattice.io/trust-anchors-sha256"]?.stringValue == anchors.digest, "\(name)")
            patched.append(text)
        }
        let problems = try KubernetesSchemas.validate(yamlDocuments: patched, version: "1.27.0")
        #expect(problems.isEmpty, "\(problems)")
    }

    /// A self-signed serving certificate for the webhook's Service name and 127.0.0.1, made by openssl.
    static func makeServingCertificate(in directory: String, name: String) throws {
        let result = try ProcessRunner.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-subj", "/CN=\(name)", "-addext", "subjectAltName=DNS:\(name),IP:127.0.0.1",
                "-keyout", "\(directory)/tls.key.new", "-out", "\(directory)/tls.crt.new",
            ]
        )
        #expect(result.status == 0, "\(result.stderr)")
        // Certificate first, then key, each replaced atomically (as the kubelet swaps a Secret's files).
        #expect(rename("\(directory)/tls.crt.new", "\(directory)/tls.crt") == 0)
        #expect(rename("\(directory)/tls.key.new", "\(directory)/tls.key") == 0)
    }

    static func post(_ file: String, port: Int, caFile: String) throws -> (status: Int32, body: String) {
        let result = try ProcessRunner.run(
            "/usr/bin/curl",
            [
                "-sS", "--max-time", "20", "--cacert", caFile, "-H", "Content-Type: application/json",
                "--data-binary", "@\(file)", "https://127.0.0.1:\(port)/inject?timeout=10s",
            ]
        )
        return (result.status, result.stdout + result.stderr)
    }

    @Test func theWebhookAnswersOverTLSAndPicksUpARenewedCertificate() async throws {
        try await TestFiles.withDirectory { directory in
            try Self.makeServingCertificate(in: directory, name: "lattice-webhook.lattice.svc")
            try FileManager.default.copyItem(atPath: "\(directory)/tls.crt", toPath: "\(directory)/first-ca.crt")
            let review = "\(directory)/review.json"
            try Data(try Self.fixture("statefulset-pod")).write(to: URL(fileURLWithPath: review))
            let server = try AdmissionWebhookServer(
                host: "127.0.0.1",
                port: 0,
                certificatePath: "\(directory)/tls.crt",
                keyPath: "\(directory)/tls.key",
                reloadInterval: .milliseconds(200),
                responder: Self.responder(RecordingMutator()),
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            )
            let group = ServiceGroup(services: [server], logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            try await withThrowingTaskGroup { tasks in
                tasks.addTask { try await group.run() }
                defer { tasks.cancelAll() }
                let port = try #require(try await server.waitUntilBound().port)
                let first = try await Task.detached { try Self.post(review, port: port, caFile: "\(directory)/first-ca.crt") }.value
                #expect(first.status == 0, "\(first.body)")
                #expect(first.body.contains(#""uid":"1b5f6d4c-2e3a-4b7c-9d0e-1f2a3b4c5d6e""#), "\(first.body)")
                #expect(first.body.contains(#""patchType":"JSONPatch""#))

                // Renew: a new key and certificate under the same name; new handshakes present it with no restart.
                try Self.makeServingCertificate(in: directory, name: "lattice-webhook.lattice.svc")
                let renewed = await eventually(timeout: .seconds(20)) {
                    (try? Self.post(review, port: port, caFile: "\(directory)/tls.crt").status) == 0
                }
                #expect(renewed, "the renewed certificate was never presented")
                let old = try Self.post(review, port: port, caFile: "\(directory)/first-ca.crt")
                #expect(old.status != 0, "the old certificate is still presented: \(old.body)")

                let wrongPath = try ProcessRunner.run(
                    "/usr/bin/curl",
                    ["-sS", "--max-time", "20", "--cacert", "\(directory)/tls.crt", "-o", "/dev/null", "-w", "%{http_code}", "https://127.0.0.1:\(port)/mutate"]
                )
                #expect(wrongPath.stdout == "404")
                await group.triggerGracefulShutdown()
            }
        }
    }
}
