import LatticeInjector
import LatticeModel

extension ControlPlaneRenderer {
    var controllerService: Manifest {
        Manifest(
            apiVersion: "v1", kind: "Service", name: ControlPlaneNames.controller, namespace: self.namespace,
            labels: self.controllerLabels,
            body: [
                (
                    "spec",
                    [
                        "type": "ClusterIP",
                        "selector": self.selectorLabels,
                        "ports": [
                            ["name": "grpc", "port": .int(WellKnown.identityPort), "targetPort": "grpc", "protocol": "TCP"]
                        ],
                    ]
                )
            ]
        )
    }

    var webhookService: Manifest {
        Manifest(
            apiVersion: "v1", kind: "Service", name: ControlPlaneNames.webhookService, namespace: self.namespace,
            labels: self.controllerLabels,
            body: [
                (
                    "spec",
                    [
                        "type": "ClusterIP",
                        "selector": self.selectorLabels,
                        "ports": [["name": "webhook", "port": 443, "targetPort": "webhook", "protocol": "TCP"]],
                    ]
                )
            ]
        )
    }

    /// The controller's flags: exactly those `lattice-controller` defines (ControllerCommand).
    var controllerArguments: [String] {
        let values = self.values
        return [
            "--kubernetes",
            "--issuer-dir=\(ControlPlaneNames.issuerMountPath)",
            "--identity-addr=0.0.0.0:\(WellKnown.identityPort)",
            "--admin-addr=0.0.0.0:\(WellKnown.controllerAdminPort)",
            "--trust-domain=\(values.trustDomain)",
            "--control-plane-namespace=\(self.namespace)",
            "--cluster-domain=\(values.clusterDomain)",
            "--cluster-networks=\(values.clusterNetworks.joined(separator: ","))",
            "--default-inbound-policy=\(values.defaultInboundPolicy)",
            "--leaf-lifetime=\(values.issuanceLifetime)",
            "--max-in-flight=\(values.controller.maxInFlight)",
            "--per-peer-rate=\(ValueReader.format(values.controller.perPeerRate))",
            "--log-level=\(values.controller.logLevel)",
            "--webhook-addr=0.0.0.0:\(ControlPlaneNames.webhookPort)",
            "--webhook-tls-dir=\(ControlPlaneNames.webhookMountPath)",
            "--mesh-config=\(ControlPlaneNames.meshConfigMountPath)/\(MeshConfig.configMapKey)",
        ]
    }

    static func resources(_ r: InstallValues.Resources) -> ValueTree? {
        func group(_ cpu: String, _ memory: String) -> ValueTree? {
            let members = [("cpu", cpu), ("memory", memory)].filter { !$0.1.isEmpty }
            return members.isEmpty ? nil : .object(members.map { (key: $0.0, value: .string($0.1)) })
        }
        let tree = ValueTree.compact([
            ("limits", group(r.cpuLimit, r.memoryLimit)), ("requests", group(r.cpuRequest, r.memoryRequest)),
        ])
        return tree.members?.isEmpty == false ? tree : nil
    }

    var deployment: Manifest {
        let controller = self.values.controller
        let probe: (String) -> ValueTree = { path in
            ["httpGet": ["path": .string(path), "port": "admin"], "periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3]
        }
        let container = ValueTree.compact([
            ("name", "controller"),
            ("image", .string(controller.image)),
            ("imagePullPolicy", .string(controller.imagePullPolicy)),
            ("args", .array(self.controllerArguments.map(ValueTree.string))),
            (
                "ports",
                [
                    ["name": "grpc", "containerPort": .int(WellKnown.identityPort), "protocol": "TCP"],
                    ["name": "webhook", "containerPort": .int(ControlPlaneNames.webhookPort), "protocol": "TCP"],
                    ["name": "admin", "containerPort": .int(WellKnown.controllerAdminPort), "protocol": "TCP"],
                ]
            ),
            ("readinessProbe", probe("/ready")),
            ("livenessProbe", probe("/live").merged(with: ["initialDelaySeconds": 10])),
            ("resources", Self.resources(controller.resources)),
            (
                "securityContext",
                [
                    "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true,
                    "capabilities": ["drop": ["ALL"]],
                ]
            ),
            (
                "volumeMounts",
                [
                    ["name": "issuer", "mountPath": .string(ControlPlaneNames.issuerMountPath), "readOnly": true],
                    ["name": "webhook-tls", "mountPath": .string(ControlPlaneNames.webhookMountPath), "readOnly": true],
                    ["name": "mesh-config", "mountPath": .string(ControlPlaneNames.meshConfigMountPath), "readOnly": true],
                ]
            ),
        ])
        let affinity: ValueTree? =
            controller.antiAffinity
            ? [
                "podAntiAffinity": [
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        [
                            "weight": 100,
                            "podAffinityTerm": [
                                "labelSelector": ["matchLabels": self.selectorLabels],
                                "topologyKey": "kubernetes.io/hostname",
                            ],
                        ]
                    ]
                ]
            ] : nil
        let uid = ValueTree.int(ControlPlaneNames.controllerUID)
        let podSpec = ValueTree.compact([
            ("serviceAccountName", .string(ControlPlaneNames.controller)),
            (
                "securityContext",
                [
                    "runAsNonRoot": true, "runAsUser": uid, "runAsGroup": uid, "fsGroup": uid,
                    "seccompProfile": ["type": "RuntimeDefault"],
                ]
            ),
            ("affinity", affinity),
            ("nodeSelector", controller.nodeSelector.members?.isEmpty == false ? controller.nodeSelector : nil),
            ("tolerations", controller.tolerations == .array([]) ? nil : controller.tolerations),
            ("containers", [container]),
            (
                "volumes",
                [
                    ["name": "issuer", "secret": ["secretName": .string(ControlPlaneNames.issuerSecret)]],
                    ["name": "webhook-tls", "secret": ["secretName": .string(ControlPlaneNames.webhookSecret)]],
                    ["name": "mesh-config", "configMap": ["name": .string(MeshConfig.configMapName)]],
                ]
            ),
        ])
        return Manifest(
            apiVersion: "apps/v1", kind: "Deployment", name: ControlPlaneNames.controller, namespace: self.namespace,
            labels: self.controllerLabels,
            body: [
                (
                    "spec",
                    [
                        "replicas": .int(controller.replicas),
                        "selector": ["matchLabels": self.selectorLabels],
                        "template": [
                            "metadata": [
                                "labels": self.controllerLabels,
                                "annotations": [
                                    "lattice.io/inject": "disabled",
                                    "prometheus.io/scrape": "true",
                                    "prometheus.io/port": .string(String(WellKnown.controllerAdminPort)),
                                    "prometheus.io/path": "/metrics",
                                ],
                            ],
                            "spec": podSpec,
                        ],
                    ]
                )
            ]
        )
    }

    var podDisruptionBudget: Manifest {
        Manifest(
            apiVersion: "policy/v1", kind: "PodDisruptionBudget", name: ControlPlaneNames.controller,
            namespace: self.namespace, labels: self.controllerLabels,
            body: [
                (
                    "spec",
                    [
                        "maxUnavailable": .int(self.values.controller.maxUnavailable),
                        "selector": ["matchLabels": self.selectorLabels],
                    ]
                )
            ]
        )
    }
}
