import Foundation
import LatticeIdentity
import LatticeInjector
import LatticeManifests
import X509

/// The Kubernetes categories of `lattice check`: the control plane's pods, the injector webhook and its certificate,
/// the data plane's coverage (every pod that should be meshed is), the anchors the proxies were given, and no second
/// mesh injecting the same namespaces. Each reads objects as the API serves them.
struct KubernetesChecks {
    /// Names the installation uses (`lattice install` and the chart).
    struct Names {
        var namespace = "lattice"
        var controllerSelector = "app.kubernetes.io/name=\(ControlPlaneNames.controller)"
        var webhookService = ControlPlaneNames.webhookService
        var webhookSecret = ControlPlaneNames.webhookSecret
        var trustRoots = ControlPlaneNames.trustRootsConfigMap
        var trustRootsKey = ControlPlaneNames.trustRootsKey
        var issuerSecret = ControlPlaneNames.issuerSecret
        /// Cluster-scoped, so named after the control plane's namespace (as `lattice install` and the chart name it).
        var webhookConfiguration: String { "\(ControlPlaneNames.webhookConfiguration)-\(self.namespace)" }
    }

    /// The pod annotation the injector stamps with the SHA-256 of the anchor bundle it configured the proxy with.
    static let anchorsAnnotation = "lattice.io/trust-anchors-sha256"
    static let proxyContainer = "lattice-proxy"
    /// Webhooks of other meshes' injectors, recognised by their names.
    static let otherMeshMarkers = ["linkerd", "istio", "sidecar-injector", "kuma", "consul-connect", "osm-"]

    let reader: any KubernetesObjectReader
    let names: Names
    let warningWindow: TimeInterval
    let now: Date

    func run() async -> [CheckResult] {
        var results: [CheckResult] = []
        func add(_ category: String, _ statement: String, fatal: Bool = true, hint: String? = nil, _ body: () async throws -> String?) async {
            do {
                let problem = try await body()
                results.append(
                    CheckResult(category: category, statement: statement, passed: problem == nil, fatal: fatal, detail: problem ?? "", hint: problem == nil ? nil : hint)
                )
            } catch {
                results.append(CheckResult(category: category, statement: statement, passed: false, fatal: fatal, detail: "\(error)", hint: hint))
            }
        }
        let ns = self.names.namespace
        let control = "kubernetes-control-plane"
        await add(control, "control-plane pods are running and ready", hint: "kubectl -n \(ns) describe pods -l \(self.names.controllerSelector)") {
            let pods = try await self.list("/api/v1/namespaces/\(ns)/pods", labelSelector: self.names.controllerSelector)
            guard !pods.isEmpty else {
                return "no pods labelled \(self.names.controllerSelector) in namespace \(ns): install the control plane (docs/install.md)"
            }
            let notReady = pods.filter { !Self.isReady($0) }.map { "\($0.name) (\($0.string("status.phase") ?? "?"))" }
            return notReady.isEmpty ? nil : "not ready: \(notReady.joined(separator: ", "))"
        }
        let days = Int(self.warningWindow / 86400)
        await add(control, "the issuer is a CA chaining to the trust anchors and valid for at least \(days) days", hint: "runbook: issuer renewal (helm upgrade … --set-file identity.issuer.tls.crtPEM=…)") {
            let secret = try await self.object("/api/v1/namespaces/\(ns)/secrets/\(self.names.issuerSecret)")
            guard let certificate = secret.data("tls.crt").flatMap({ Data(base64Encoded: $0) }),
                let anchorsPEM = secret.data("ca.crt").flatMap({ Data(base64Encoded: $0) })
            else { return "secret \(ns)/\(self.names.issuerSecret) lacks tls.crt or ca.crt" }
            let issuer = try CertificateLoader.certificates(pem: String(decoding: certificate, as: UTF8.self), source: "\(self.names.issuerSecret) tls.crt")
            let anchors = try TrustBundle.parse(pem: String(decoding: anchorsPEM, as: UTF8.self), source: "\(self.names.issuerSecret) ca.crt")
            guard let leaf = issuer.first else { return "tls.crt holds no certificate" }
            guard leaf.caConstraint.isCA else { return "the issuer is not a CA" }
            guard anchors.anchors.contains(where: { $0.subject == leaf.issuer && $0.publicKey.isValidSignature(leaf.signature, for: leaf) }) else {
                return "the issuer is not signed by any trust anchor in ca.crt"
            }
            let left = leaf.notValidAfter.timeIntervalSince(self.now)
            return left >= self.warningWindow ? nil : "the issuer expires \(leaf.notValidAfter) (in \(Int(left / 86400)) days)"
        }
        var caBundle: [Certificate] = []
        await add(control, "the injector webhook is configured", hint: "lattice install … | kubectl apply -f - (or helm upgrade)") {
            let configuration = try await self.object(
                "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/\(self.names.webhookConfiguration)"
            )
            let webhooks = configuration.objects("webhooks")
            guard !webhooks.isEmpty else { return "\(self.names.webhookConfiguration) has no webhooks" }
            for webhook in webhooks {
                let name = webhook.string("name") ?? "?"
                guard let bundle = webhook.string("clientConfig.caBundle"), let pem = Data(base64Encoded: bundle) else {
                    return "\(name) has no clientConfig.caBundle: the API server can't verify the webhook"
                }
                caBundle = try CertificateLoader.certificates(pem: String(decoding: pem, as: UTF8.self), source: "\(name) caBundle")
                guard webhook.string("clientConfig.service.namespace") == ns else {
                    return "\(name) calls a service outside \(ns): \(webhook.string("clientConfig.service.namespace") ?? "none")"
                }
                guard (webhook["admissionReviewVersions"] as? [String] ?? []).contains("v1") else {
                    return "\(name) doesn't offer admissionReviewVersions v1"
                }
            }
            return nil
        }
        await add(control, "the webhook's certificate is valid for at least \(days) days and signed by its caBundle", hint: "docs/install.md (webhook certificate)") {
            let secret = try await self.object("/api/v1/namespaces/\(ns)/secrets/\(self.names.webhookSecret)")
            guard let encoded = secret.data("tls.crt"), let pem = Data(base64Encoded: encoded) else {
                return "secret \(ns)/\(self.names.webhookSecret) has no tls.crt"
            }
            let chain = try CertificateLoader.certificates(pem: String(decoding: pem, as: UTF8.self), source: "\(self.names.webhookSecret) tls.crt")
            guard let leaf = chain.first else { return "tls.crt holds no certificate" }
            let left = leaf.notValidAfter.timeIntervalSince(self.now)
            guard left >= self.warningWindow else {
                return "it expires \(leaf.notValidAfter) (in \(Int(left / 86400)) days): renew it (helm upgrade, or lattice install … | kubectl apply -f -)"
            }
            guard caBundle.contains(where: { $0.subject == leaf.issuer && $0.publicKey.isValidSignature(leaf.signature, for: leaf) }) else {
                return "it is not signed by the webhook configuration's caBundle: the API server will refuse the handshake"
            }
            let host = "\(self.names.webhookService).\(ns).svc"
            let names = (try? leaf.extensions.subjectAlternativeNames)??.compactMap { name -> String? in
                if case .dnsName(let dns) = name { return dns }
                return nil
            } ?? []
            return names.contains(host) ? nil : "it doesn't name \(host) (it names \(names.joined(separator: ", ")))"
        }

        let data = "kubernetes-data-plane"
        var meshedNamespaces: Set<String> = []
        var namespaces: [APIObject] = []
        var pods: [APIObject] = []
        await add(data, "every pod that should be meshed is", hint: "restart its workload: kubectl -n NS rollout restart deploy/NAME (or statefulset/NAME)") {
            namespaces = try await self.list("/api/v1/namespaces")
            pods = try await self.list("/api/v1/pods")
            let config = try await self.meshConfig()
            let injector = PodInjector(config: config, nativeSidecar: false)
            let contexts = Dictionary(
                namespaces.map { ($0.name, NamespaceContext(name: $0.name, annotations: $0.annotations, labels: $0.labels)) },
                uniquingKeysWith: { first, _ in first }
            )
            var missing: [String] = []
            for pod in pods where !["Succeeded", "Failed"].contains(pod.string("status.phase") ?? "") {
                guard pod.namespace != ns, pod.namespace != "kube-system" else { continue }
                if Self.hasProxy(pod) {
                    meshedNamespaces.insert(pod.namespace)
                    continue
                }
                let context = contexts[pod.namespace] ?? NamespaceContext(name: pod.namespace, annotations: [:], labels: [:])
                guard let admission = try? injector.admissionPatch(forPodJSON: pod.bytes, namespace: context) else { continue }
                if admission.report.injected {
                    meshedNamespaces.insert(pod.namespace)
                    missing.append("\(pod.namespace)/\(pod.name)\(Self.owner(pod).map { " (\($0))" } ?? "")")
                }
            }
            guard !missing.isEmpty else { return nil }
            let shown = missing.prefix(20).joined(separator: ", ")
            return "\(missing.count) pod(s) selected for injection run without a proxy (started before opt-in, or while the webhook was away): \(shown)\(missing.count > 20 ? ", …" : "")"
        }
        await add(data, "meshed pods were given the current trust anchors", fatal: false, hint: "after an anchor rotation, restart the pods listed") {
            let roots = try await self.object("/api/v1/namespaces/\(ns)/configmaps/\(self.names.trustRoots)")
            guard let bundle = roots.data(self.names.trustRootsKey) else {
                return "configmap \(ns)/\(self.names.trustRoots) has no \(self.names.trustRootsKey)"
            }
            let current = try TrustBundle.parse(pem: bundle, source: "configmap \(ns)/\(self.names.trustRoots)").digest
            let stale = pods.filter { Self.hasProxy($0) }.filter { pod in
                pod.annotations[Self.anchorsAnnotation].map { $0 != current } ?? false
            }
            return stale.isEmpty ? nil : "started with older anchors: \(stale.prefix(20).map { "\($0.namespace)/\($0.name)" }.joined(separator: ", "))"
        }
        await add(data, "no other mesh's injector acts on the meshed namespaces", hint: "one mesh per namespace: label the namespace to opt out of the other injector, or uninstall it") {
            let configurations = try await self.list("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations")
            let labels = Dictionary(namespaces.map { ($0.name, $0.labels) }, uniquingKeysWith: { first, _ in first })
            var conflicts: [String] = []
            for configuration in configurations where configuration.name != self.names.webhookConfiguration {
                for webhook in configuration.objects("webhooks") {
                    let name = webhook.string("name") ?? configuration.name
                    let service = webhook.string("clientConfig.service.name") ?? ""
                    let text = "\(configuration.name) \(name) \(service)".lowercased()
                    guard Self.otherMeshMarkers.contains(where: { text.contains($0) }) else { continue }
                    let selector = LabelSelector((webhook["namespaceSelector"] as? [String: Any]).map(APIObject.init))
                    let hit = meshedNamespaces.sorted().filter { namespace in
                        var namespaceLabels = labels[namespace] ?? [:]
                        namespaceLabels["kubernetes.io/metadata.name"] = namespace
                        return selector.matches(namespaceLabels)
                    }
                    if !hit.isEmpty { conflicts.append("\(configuration.name) (\(name)) selects \(hit.joined(separator: ", "))") }
                }
            }
            return conflicts.isEmpty ? nil : conflicts.joined(separator: "; ")
        }
        return results
    }

    /// The mesh configuration as the controller sees it: `lattice-config` plus the labelled ConfigMaps' selections.
    func meshConfig() async throws -> MeshConfig {
        let ns = self.names.namespace
        let base = try await self.object("/api/v1/namespaces/\(ns)/configmaps/\(MeshConfig.configMapName)")
        let config = try MeshConfig.parse(base.data(MeshConfig.configMapKey) ?? "", source: "configmap \(ns)/\(MeshConfig.configMapName)")
        let labelled = try await self.list("/api/v1/configmaps", labelSelector: "\(MeshConfig.selectionLabel)=true")
        // `lattice-config` carries the label too; it is the base read above.
        let selections = labelled.filter { $0.name != MeshConfig.configMapName }.compactMap { map -> (namespace: String, selection: MeshConfig.InjectionSelection)? in
            guard let text = map.data(MeshConfig.configMapKey),
                let parsed = try? MeshConfig.parse(text, source: "configmap \(map.namespace)/\(map.name)")
            else { return nil }
            return (map.namespace, parsed.inject)
        }
        return config.adding(selections: selections)
    }

    func object(_ path: String) async throws -> APIObject {
        try APIObject.parse(try await self.reader.get(path, labelSelector: nil), what: "GET \(path)")
    }

    func list(_ path: String, labelSelector: String? = nil) async throws -> [APIObject] {
        try APIObject.parse(try await self.reader.get(path, labelSelector: labelSelector), what: "GET \(path)").items
    }

    static func isReady(_ pod: APIObject) -> Bool {
        pod.string("status.phase") == "Running"
            && pod.objects("status.conditions").contains { $0.string("type") == "Ready" && $0.string("status") == "True" }
    }

    /// The proxy is in `containers`, or in `initContainers` when it is a native sidecar.
    static func hasProxy(_ pod: APIObject) -> Bool {
        (pod.objects("spec.containers") + pod.objects("spec.initContainers")).contains { $0.string("name") == Self.proxyContainer }
    }

    static func owner(_ pod: APIObject) -> String? {
        guard let owner = pod.objects("metadata.ownerReferences").first else { return nil }
        return "\(owner.string("kind") ?? "?")/\(owner.string("name") ?? "?")"
    }
}
