import FoundationEssentials
import LatticeInjector
import LatticeModel
import Yams

/// Renders every object of the control plane, in a fixed order, from checked values: what `lattice install` prints
/// and what the `lattice-control-plane` chart renders for the same values (ChartParityTests compares them).
///
/// Order: Namespace (when `installNamespace`), ServiceAccount, ClusterRole, ClusterRoleBinding, the mesh config,
/// the trust anchors, the issuer Secret, the webhook's Secret, Services, the controller Deployment, its
/// PodDisruptionBudget (HA), the MutatingWebhookConfiguration, the proxies' PodMonitor.
public struct ControlPlaneRenderer: Sendable {
    public let values: InstallValues
    /// The control plane's namespace (Helm: the release namespace).
    public let namespace: String
    public let webhookCertificates: WebhookCertificates

    public init(values: InstallValues, namespace: String, webhookCertificates: WebhookCertificates) {
        self.values = values
        self.namespace = namespace
        self.webhookCertificates = webhookCertificates
    }

    /// - Throws: ``ManifestsError`` when the injection flags conflict or the mesh config cannot be written.
    public func render() throws(ManifestsError) -> [Manifest] {
        var manifests: [Manifest] = []
        if self.values.installNamespace { manifests.append(self.namespaceObject) }
        manifests += [self.serviceAccount, self.clusterRole, self.clusterRoleBinding]
        manifests.append(try self.meshConfigMap())
        manifests += [self.trustRoots, self.issuerSecret, self.webhookSecret, self.controllerService, self.webhookService]
        manifests.append(self.deployment)
        if self.values.controller.podDisruptionBudget { manifests.append(self.podDisruptionBudget) }
        manifests.append(self.webhookConfiguration)
        if self.values.monitoring.podMonitor { manifests.append(self.podMonitor) }
        return manifests
    }

    // MARK: - Labels

    var commonLabels: ValueTree {
        ["app.kubernetes.io/part-of": "lattice", "app.kubernetes.io/version": .string(LatticeVersion.current)]
    }

    var controllerLabels: ValueTree {
        [
            "app.kubernetes.io/name": .string(ControlPlaneNames.controller), "app.kubernetes.io/component": "controller",
            "app.kubernetes.io/part-of": "lattice", "app.kubernetes.io/version": .string(LatticeVersion.current),
        ]
    }

    var selectorLabels: ValueTree {
        ["app.kubernetes.io/name": .string(ControlPlaneNames.controller), "app.kubernetes.io/part-of": "lattice"]
    }

    // MARK: - Namespace, identity of the controller, RBAC

    var namespaceObject: Manifest {
        Manifest(
            apiVersion: "v1", kind: "Namespace", name: self.namespace, namespace: nil,
            labels: [
                "app.kubernetes.io/part-of": "lattice", "app.kubernetes.io/version": .string(LatticeVersion.current),
                ControlPlaneNames.webhookOptOutLabel: "disabled",
                "pod-security.kubernetes.io/enforce": "restricted",
            ],
            body: []
        )
    }

    var serviceAccount: Manifest {
        Manifest(
            apiVersion: "v1", kind: "ServiceAccount", name: ControlPlaneNames.controller, namespace: self.namespace,
            labels: self.controllerLabels, body: []
        )
    }

    /// The cluster-scoped objects carry the namespace in their name, so two control planes can coexist.
    var clusterScopedName: String { "\(ControlPlaneNames.controller)-\(self.namespace)" }

    var clusterRole: Manifest {
        func rule(_ groups: [String], _ resources: [String], _ verbs: [String], names: [String]? = nil) -> ValueTree {
            .compact([
                ("apiGroups", .array(groups.map(ValueTree.string))),
                ("resources", .array(resources.map(ValueTree.string))),
                ("resourceNames", names.map { .array($0.map(ValueTree.string)) }),
                ("verbs", .array(verbs.map(ValueTree.string))),
            ])
        }
        let watch = ["get", "list", "watch"]
        return Manifest(
            apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", name: self.clusterScopedName, namespace: nil,
            labels: self.controllerLabels,
            body: [
                (
                    "rules",
                    [
                        // Identity: workload tokens are checked with TokenReview.
                        rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
                        // Discovery, policy and injection read pods, services, namespaces and endpoint slices.
                        rule([""], ["pods", "services", "namespaces"], watch),
                        rule(["discovery.k8s.io"], ["endpointslices"], watch),
                        // The mesh config (lattice-config and labelled ConfigMaps), and the trust-anchor copies.
                        rule([""], ["configmaps"], watch),
                        rule([""], ["configmaps"], ["create"]),
                        rule([""], ["configmaps"], ["update", "patch"], names: [ControlPlaneNames.trustRootsConfigMap]),
                        // The API server's version decides native sidecars (proxy.nativeSidecar: auto).
                        ["nonResourceURLs": ["/version"], "verbs": ["get"]],
                    ]
                )
            ]
        )
    }

    var clusterRoleBinding: Manifest {
        Manifest(
            apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", name: self.clusterScopedName,
            namespace: nil, labels: self.controllerLabels,
            body: [
                (
                    "roleRef",
                    ["apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": .string(self.clusterScopedName)]
                ),
                (
                    "subjects",
                    [
                        [
                            "kind": "ServiceAccount", "name": .string(ControlPlaneNames.controller),
                            "namespace": .string(self.namespace),
                        ]
                    ]
                ),
            ]
        )
    }

    // MARK: - Configuration and credentials

    /// The mesh config the injector works from (LatticeInjector's ``MeshConfig``).
    public func meshConfig() throws(ManifestsError) -> MeshConfig {
        let values = self.values
        let domain = "\(self.namespace).svc.\(values.clusterDomain)"
        let config = MeshConfig(
            proxy: values.proxy,
            controller: .init(
                namespace: self.namespace,
                address: "\(ControlPlaneNames.controller).\(domain):\(WellKnown.identityPort)",
                identity: "\(ControlPlaneNames.controller).\(self.namespace).serviceaccount.identity.\(self.namespace)."
                    + values.trustDomain
            ),
            clusterDomain: values.clusterDomain,
            trustDomain: values.trustDomain,
            clusterNetworks: values.clusterNetworks,
            defaultInboundPolicy: values.defaultInboundPolicy,
            inject: try values.injection.selection(namespaceKey: "injectTarget.namespace")
        )
        // The injector trusts its configuration: values that would give pods a proxy that can't start stop here.
        let problems = config.problems
        guard problems.isEmpty else { throw ManifestsError(.invalidValue, problems.joined(separator: "; ")) }
        return config
    }

    func meshConfigMap() throws(ManifestsError) -> Manifest {
        let yaml: String
        do {
            yaml = try YAMLEncoder().encode(try self.meshConfig())
        } catch let error as ManifestsError {
            throw error
        } catch {
            throw ManifestsError(.invalidValue, "cannot write the mesh config: \(error)")
        }
        var labels = self.controllerLabels
        labels = labels.merged(with: [ControlPlaneNames.meshConfigLabel: "true"])
        return Manifest(
            apiVersion: "v1", kind: "ConfigMap", name: MeshConfig.configMapName, namespace: self.namespace,
            labels: labels, body: [("data", [MeshConfig.configMapKey: .string(yaml)])]
        )
    }

    var trustRoots: Manifest {
        Manifest(
            apiVersion: "v1", kind: "ConfigMap", name: ControlPlaneNames.trustRootsConfigMap, namespace: self.namespace,
            labels: self.commonLabels,
            body: [("data", [ControlPlaneNames.trustRootsKey: .string(self.values.identityTrustAnchorsPEM)])]
        )
    }

    var issuerSecret: Manifest {
        Manifest(
            apiVersion: "v1", kind: "Secret", name: ControlPlaneNames.issuerSecret, namespace: self.namespace,
            labels: self.commonLabels,
            body: [
                ("type", "kubernetes.io/tls"),
                (
                    "data",
                    [
                        WellKnown.secretCertificateFile: .string(Self.base64(self.values.issuerCertificatePEM)),
                        WellKnown.secretKeyFile: .string(Self.base64(self.values.issuerKeyPEM)),
                        WellKnown.secretCAFile: .string(Self.base64(self.values.identityTrustAnchorsPEM)),
                    ]
                ),
            ]
        )
    }

    var webhookSecret: Manifest {
        let certificates = self.webhookCertificates
        return Manifest(
            apiVersion: "v1", kind: "Secret", name: ControlPlaneNames.webhookSecret, namespace: self.namespace,
            labels: self.commonLabels,
            body: [
                ("type", "kubernetes.io/tls"),
                (
                    "data",
                    [
                        WellKnown.secretCertificateFile: .string(Self.base64(certificates.certificatePEM)),
                        WellKnown.secretKeyFile: .string(Self.base64(certificates.keyPEM)),
                        WellKnown.secretCAFile: .string(Self.base64(certificates.caPEM)),
                    ]
                ),
            ]
        )
    }

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
}

