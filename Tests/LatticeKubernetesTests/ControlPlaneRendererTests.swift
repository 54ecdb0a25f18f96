import Crypto
import FoundationEssentials
import LatticeIdentity
import LatticeInjector
import LatticeManifests
import LatticeModel
import LatticeTestSupport
import Testing
import X509
import Yams

@Suite struct ControlPlaneRendererTests {
    func render(_ overlays: ValueTree..., namespace: String = "lattice") async throws -> (InstallFixture, [Manifest]) {
        let f = try InstallFixture()
        var tree = InstallValues.defaults.merged(with: ControlPlaneInstall.installDefaults).merged(with: f.credentials)
        for overlay in overlays { tree = tree.merged(with: overlay) }
        let values = try InstallValues.decode(tree)
        _ = try await IssuerCheck.check(values, now: f.now)
        let certificates = try WebhookCertificates.generate(namespace: namespace, validityDays: 365, now: f.now)
        let manifests = try ControlPlaneRenderer(values: values, namespace: namespace, webhookCertificates: certificates)
            .render()
        return (f, manifests)
    }

    @Test func everyObjectInAFixedOrder() async throws {
        let (_, manifests) = try await self.render()
        #expect(
            manifests.map { "\($0.kind)/\($0.name)" } == [
                "Namespace/lattice", "ServiceAccount/lattice-controller", "ClusterRole/lattice-controller-lattice",
                "ClusterRoleBinding/lattice-controller-lattice", "ConfigMap/lattice-config",
                "ConfigMap/lattice-identity-trust-roots", "Secret/lattice-identity-issuer", "Secret/lattice-webhook-tls",
                "Service/lattice-controller", "Service/lattice-webhook", "Deployment/lattice-controller",
                "MutatingWebhookConfiguration/lattice-proxy-injector-lattice", "PodMonitor/lattice-proxies",
            ]
        )
    }

    @Test func theHAValuesAddABudgetAndFailClosed() async throws {
        let (_, manifests) = try await self.render(InstallValues.highAvailability)
        let deployment = try #require(manifests.first { $0.kind == "Deployment" })
        #expect(deployment.object.value(at: ["spec", "replicas"]) == 3)
        let budget = try #require(manifests.first { $0.kind == "PodDisruptionBudget" })
        #expect(budget.object.value(at: ["spec", "maxUnavailable"]) == 1)
        let webhook = try #require(manifests.first { $0.kind == "MutatingWebhookConfiguration" })
        guard case .array(let hooks)? = webhook.object["webhooks"], let hook = hooks.first else {
            throw TestFailure("no webhook")
        }
        #expect(hook["failurePolicy"] == "Fail")
    }

    @Test func theMeshConfigReadsBackAsTheInjectorsMeshConfig() async throws {
        let (_, manifests) = try await self.render(["proxy": ["resources": ["limits": ["cpu": "1"]]]])
        let map = try #require(manifests.first { $0.name == MeshConfig.configMapName })
        guard case .string(let yaml)? = map.object.value(at: ["data", MeshConfig.configMapKey]) else {
            throw TestFailure("no config.yaml")
        }
        let config = try YAMLDecoder().decode(MeshConfig.self, from: yaml)
        #expect(config.proxy.resources == .init(cpuRequest: "20m", cpuLimit: "1", memoryRequest: "32Mi", memoryLimit: "128Mi"))
        #expect(config.controller == MeshConfig.ControllerSettings())
        #expect(config.proxy.nativeSidecar == .auto)
    }

    @Test func theWebhookCertificateIsSignedByItsCABundleForTheServiceName() async throws {
        let (f, manifests) = try await self.render(namespace: "mesh")
        let secret = try #require(manifests.first { $0.name == ControlPlaneNames.webhookSecret })
        func decoded(_ key: String) throws -> String {
            guard case .string(let b64)? = secret.object.value(at: ["data", key]), let data = Data(base64Encoded: b64) else {
                throw TestFailure("no \(key)")
            }
            return String(decoding: data, as: UTF8.self)
        }
        let webhook = try #require(manifests.first { $0.kind == "MutatingWebhookConfiguration" })
        guard case .array(let hooks)? = webhook.object["webhooks"], let hook = hooks.first,
            case .string(let bundle)? = hook.value(at: ["clientConfig", "caBundle"])
        else { throw TestFailure("no caBundle") }
        #expect(Data(base64Encoded: bundle).map { String(decoding: $0, as: UTF8.self) } == (try decoded("ca.crt")))
        let ca = try TrustBundle.parse(pem: try decoded("ca.crt"), source: "ca.crt")
        let serving = try #require(try CertificateLoader.certificates(pem: try decoded("tls.crt"), source: "tls.crt").first)
        #expect(serving.dnsNames.contains("lattice-webhook.mesh.svc"))
        let verdict = await ChainVerifier.verify(
            leaf: serving, intermediates: [], anchors: ca, expectedIdentity: "lattice-webhook.mesh.svc", now: f.now
        )
        #expect(verdict.isValid)
        let key = try KeyLoader.p256PrivateKey(pem: try decoded("tls.key"), source: "tls.key")
        #expect(KeyLoader.matches(key, serving))
        #expect(hook.value(at: ["clientConfig", "service", "namespace"]) == "mesh")
    }

    @Test func theWebhookSkipsKubeSystemTheControlPlaneAndOptedOutNamespacesAndPods() async throws {
        let (_, manifests) = try await self.render()
        let webhook = try #require(manifests.first { $0.kind == "MutatingWebhookConfiguration" })
        guard case .array(let hooks)? = webhook.object["webhooks"], let hook = hooks.first else { throw TestFailure("none") }
        #expect(hook["failurePolicy"] == "Ignore")
        #expect(hook["sideEffects"] == "None")
        #expect(hook["admissionReviewVersions"] == ["v1"])
        #expect(hook.value(at: ["clientConfig", "service", "path"]) == "/inject")
        let namespaceRules = hook.value(at: ["namespaceSelector", "matchExpressions"])
        #expect(namespaceRules.map { "\($0)" }?.contains("[\"kube-system\", \"lattice\"]") == true)
        #expect(namespaceRules.map { "\($0)" }?.contains("config.lattice.io/admission-webhooks") == true)
        #expect(hook.value(at: ["objectSelector", "matchExpressions"]).map { "\($0)" }?.contains("disabled") == true)
    }

    @Test func theControllerRunsWithItsRealFlagsProbesAndAsNonRoot() async throws {
        let (_, manifests) = try await self.render()
        let deployment = try #require(manifests.first { $0.kind == "Deployment" })
        let pod = try #require(deployment.object.value(at: ["spec", "template", "spec"]))
        guard case .array(let containers)? = pod["containers"], let container = containers.first else {
            throw TestFailure("no container")
        }
        guard case .array(let args)? = container["args"] else { throw TestFailure("no args") }
        let flags = args.compactMap { if case .string(let s) = $0 { s.split(separator: "=").first.map(String.init) } else { nil } }
        // Every flag is one lattice-controller defines (ControllerCommand).
        let known: Set<String> = [
            "--kubernetes", "--issuer-dir", "--identity-addr", "--admin-addr", "--trust-domain",
            "--control-plane-namespace", "--cluster-domain", "--cluster-networks", "--default-inbound-policy",
            "--leaf-lifetime", "--max-in-flight", "--per-peer-rate", "--log-level", "--webhook-addr", "--webhook-tls-dir",
            "--mesh-config",
        ]
        #expect(Set(flags) == known)
        #expect(args.contains(.string("--issuer-dir=\(ControlPlaneNames.issuerMountPath)")))
        #expect(container.value(at: ["readinessProbe", "httpGet", "path"]) == "/ready")
        #expect(container.value(at: ["livenessProbe", "httpGet", "path"]) == "/live")
        #expect(pod.value(at: ["securityContext", "runAsNonRoot"]) == true)
        #expect(container.value(at: ["securityContext", "allowPrivilegeEscalation"]) == false)
        guard case .array(let ports)? = container["ports"] else { throw TestFailure("no ports") }
        #expect(ports.contains { $0["containerPort"] == .int(WellKnown.controllerAdminPort) && $0["name"] == "admin" })
        #expect(ports.contains { $0["containerPort"] == .int(WellKnown.identityPort) })
    }

    @Test func aConflictIsRefusedBeforeTheCredentialsAreLookedAt() async throws {
        let install = ControlPlaneInstall(layers: ValuesLayers(set: [
            "injectNamespace=true,injectTarget.namespace=akko,global.serviceMesh.linkerdInject.aden=true",
        ]))
        let error = await #expect(throws: ManifestsError.self) { try await install.render(now: Date()) }
        #expect(error?.code == .conflictingStrategies)
    }

    @Test func theYAMLStreamParsesBackToTheSameObjects() async throws {
        let (_, manifests) = try await self.render(["controller": ["nodeSelector": ["disk": "ssd"], "tolerations": [["key": "k", "operator": "Exists"]]]])
        let documents = manifests.yaml.components(separatedBy: "\n---\n")
        #expect(documents.count == manifests.count)
        for (text, manifest) in zip(documents, manifests) {
            // The separator takes the newline that ends each document's last line: put it back.
            let body = (text.hasPrefix("---\n") ? String(text.dropFirst(4)) : text) + (text.hasSuffix("\n") ? "" : "\n")
            let parsed = try ValueTree.parseYAML(body, source: manifest.name)
            #expect(parsed == manifest.object, "\(manifest.name):\n\(body)\nparsed: \(parsed)\nrendered: \(manifest.object)")
        }
    }
}
