extension ControlPlaneRenderer {
    /// The injector's MutatingWebhookConfiguration. Pods are sent to the webhook unless their namespace is
    /// kube-system or the control plane's, or the namespace or the pod carries
    /// `config.lattice.io/admission-webhooks: disabled` (or Linkerd's spelling of it).
    var webhookConfiguration: Manifest {
        let optOut: [ValueTree] = [
            ["key": .string(ControlPlaneNames.webhookOptOutLabel), "operator": "NotIn", "values": ["disabled"]],
            ["key": .string(ControlPlaneNames.webhookOptOutLabelLinkerd), "operator": "NotIn", "values": ["disabled"]],
        ]
        let excludedNamespaces: ValueTree = [
            "key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", .string(self.namespace)],
        ]
        let webhook: ValueTree = [
            "name": .string(ControlPlaneNames.webhookName),
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "failurePolicy": .string(self.values.webhook.failurePolicy),
            "timeoutSeconds": .int(self.values.webhook.timeoutSeconds),
            "reinvocationPolicy": "Never",
            "clientConfig": [
                "service": [
                    "name": .string(ControlPlaneNames.webhookService), "namespace": .string(self.namespace),
                    "path": .string(ControlPlaneNames.webhookPath), "port": 443,
                ],
                "caBundle": .string(Self.base64(self.webhookCertificates.caPEM)),
            ],
            "namespaceSelector": ["matchExpressions": .array(optOut + [excludedNamespaces])],
            "objectSelector": ["matchExpressions": .array(optOut)],
            "rules": [
                [
                    "operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"],
                    "scope": "Namespaced",
                ]
            ],
        ]
        return Manifest(
            apiVersion: "admissionregistration.k8s.io/v1", kind: "MutatingWebhookConfiguration",
            name: "\(ControlPlaneNames.webhookConfiguration)-\(self.namespace)", namespace: nil,
            labels: self.controllerLabels, body: [("webhooks", [webhook])]
        )
    }

    /// A Prometheus Operator PodMonitor scraping every proxy's admin port, labelled with namespace, workload (the
    /// pod's `app.kubernetes.io/name`, else its owner with a ReplicaSet's hash removed) and pod.
    var podMonitor: Manifest {
        let adminPort = String(self.values.proxy.adminPort)
        let relabelings: [ValueTree] = [
            [
                "sourceLabels": ["__meta_kubernetes_pod_container_name", "__meta_kubernetes_pod_container_port_number"],
                "regex": .string("^\(ControlPlaneNames.proxyContainer);\(adminPort)$"), "action": "keep",
            ],
            ["sourceLabels": ["__meta_kubernetes_namespace"], "targetLabel": "namespace", "action": "replace"],
            ["sourceLabels": ["__meta_kubernetes_pod_name"], "targetLabel": "pod", "action": "replace"],
            ["sourceLabels": ["__meta_kubernetes_pod_controller_kind"], "targetLabel": "workload_kind", "action": "replace"],
            ["sourceLabels": ["__meta_kubernetes_pod_controller_name"], "targetLabel": "workload", "action": "replace"],
            [
                "sourceLabels": ["__meta_kubernetes_pod_controller_kind", "__meta_kubernetes_pod_controller_name"],
                "regex": "^ReplicaSet;(.+)-[a-z0-9]+$", "targetLabel": "workload", "replacement": "$1",
                "action": "replace",
            ],
            [
                "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], "regex": "^(.+)$",
                "targetLabel": "workload", "replacement": "$1", "action": "replace",
            ],
        ]
        return Manifest(
            apiVersion: "monitoring.coreos.com/v1", kind: "PodMonitor", name: ControlPlaneNames.podMonitor,
            namespace: self.namespace,
            labels: self.commonLabels.merged(with: .strings(self.values.monitoring.labels)),
            body: [
                (
                    "spec",
                    [
                        "namespaceSelector": ["any": true],
                        "selector": [:],
                        "podMetricsEndpoints": [
                            [
                                "path": "/metrics", "interval": .string(self.values.monitoring.interval),
                                "relabelings": .array(relabelings),
                            ]
                        ],
                    ]
                )
            ]
        )
    }
}
