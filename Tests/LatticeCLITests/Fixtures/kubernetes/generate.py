#!/usr/bin/env python3
"""Writes healthy.json and troubled.json: API bodies (path -> body) shaped as the API server serves them, for the
Kubernetes categories of `lattice check`. ${...} placeholders are filled by the test with certificates made at run
time (so nothing rots): CA_BUNDLE, TLS_CRT, TLS_KEY, ISSUER_CRT, ISSUER_KEY, ANCHORS_PEM_BASE64 (base64),
ANCHORS_PEM, ANCHORS_SHA256 (TrustBundle.digest)."""
import json

def meta(name, ns=None, labels=None, annotations=None, owner=None):
    m = {"name": name, "uid": f"uid-{name}", "resourceVersion": "1000", "creationTimestamp": "2026-11-20T09:00:00Z"}
    if ns: m["namespace"] = ns
    if labels: m["labels"] = labels
    if annotations: m["annotations"] = annotations
    if owner: m["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "uid": f"uid-{owner[1]}", "controller": True, "blockOwnerDeletion": True}]
    return m

def status(phase="Running", ready=True):
    t = "2026-11-20T09:00:09Z"
    return {"phase": phase, "conditions": [
        {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None, "lastTransitionTime": t},
        {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": t},
        dict({"type": "Ready", "status": "True" if ready else "False", "lastProbeTime": None, "lastTransitionTime": t},
             **({} if ready else {"reason": "ContainersNotReady", "message": "containers with unready status: [controller]"})),
        {"type": "ContainersReady", "status": "True" if ready else "False", "lastProbeTime": None, "lastTransitionTime": t},
        {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": t}],
        "hostIP": "10.0.0.4", "podIP": "10.42.0.17", "podIPs": [{"ip": "10.42.0.17"}], "startTime": t, "qosClass": "Burstable"}

def container(name, image, ports=()):
    c = {"name": name, "image": image, "resources": {}, "terminationMessagePath": "/dev/termination-log",
         "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}
    if ports: c["ports"] = [{"containerPort": p, "protocol": "TCP"} for p in ports]
    return c

def pod(name, ns, labels, containers, init=(), annotations=None, owner=None, phase="Running", ready=True, sa="default"):
    spec = {"containers": containers, "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst", "serviceAccountName": sa, "serviceAccount": sa, "nodeName": "node-1",
            "securityContext": {}, "schedulerName": "default-scheduler", "priority": 0, "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority"}
    if init: spec["initContainers"] = list(init)
    return {"metadata": meta(name, ns, labels, annotations, owner), "spec": spec, "status": status(phase, ready)}

def podlist(items): return {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "90210"}, "items": items}
def cm(name, ns, data, labels=None): return {"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta(name, ns, labels), "data": data}
def webhooks(name, items): return {"kind": "MutatingWebhookConfiguration", "apiVersion": "admissionregistration.k8s.io/v1", "metadata": meta(name), "webhooks": items}

PROXY = container("lattice-proxy", "ghcr.io/lattice-mesh/lattice-proxy:0.4.0", (4143, 4191))
NATIVE_PROXY = dict(PROXY, restartPolicy="Always")
INIT = container("lattice-init", "ghcr.io/lattice-mesh/lattice-proxy:0.4.0")
INJECTED = {"lattice.io/inject-status": "injected", "lattice.io/proxy-version": "0.4.0", "lattice.io/trust-anchors-sha256": "${ANCHORS_SHA256}"}
STALE = dict(INJECTED, **{"lattice.io/trust-anchors-sha256": "0" * 64})

def cluster(troubled):
    ctrl = [pod(f"lattice-controller-6f7d8c9b5-{s}", "lattice",
                {"app.kubernetes.io/name": "lattice-controller", "app.kubernetes.io/part-of": "lattice", "pod-template-hash": "6f7d8c9b5"},
                [container("controller", "ghcr.io/lattice-mesh/lattice-controller:0.4.0", (8080, 8443, 9990))],
                owner=("ReplicaSet", "lattice-controller-6f7d8c9b5"), ready=not (troubled and s == "fghij"), sa="lattice-controller")
            for s in ("abcde", "fghij")]
    trino = [container("trino-coordinator", "trinodb/trino:467", (8080,))]
    apps = [
        # Selected by the akko-mtls ConfigMap (Strategy B); troubled: started before the opt-in, no proxy.
        pod("akko-trino-coordinator-7d9f8b6c5d-x2x4q", "akko", {"app.kubernetes.io/name": "akko-trino", "app.kubernetes.io/component": "coordinator"},
            trino if troubled else trino + [PROXY], init=() if troubled else [INIT], annotations=None if troubled else INJECTED,
            owner=("ReplicaSet", "akko-trino-coordinator-7d9f8b6c5d"), sa="akko-trino"),
        pod("akko-postgresql-0", "akko", {"app.kubernetes.io/name": "akko-postgresql"},
            [container("postgresql", "postgres:16", (5432,)), PROXY], init=[INIT], annotations=dict(INJECTED, **{"lattice.io/inject": "enabled"}),
            owner=("StatefulSet", "akko-postgresql"), sa="akko-postgresql"),
        # A native sidecar: the proxy is in initContainers. Troubled: injected before an anchor rotation.
        pod("akko-opa-5c6d7e8f9-q8w7e", "akko", {"app.kubernetes.io/name": "akko-opa"},
            [container("opa", "openpolicyagent/opa:1.0.0", (8181,))], init=[INIT, NATIVE_PROXY],
            annotations=dict(STALE if troubled else INJECTED, **{"lattice.io/inject": "enabled"}), owner=("ReplicaSet", "akko-opa-5c6d7e8f9"), sa="akko-opa"),
        # Not opted in.
        pod("akko-keycloak-0", "akko", {"app.kubernetes.io/name": "akko-keycloak"}, [container("keycloak", "quay.io/keycloak/keycloak:26.0", (8080,))],
            owner=("StatefulSet", "akko-keycloak"), sa="akko-keycloak"),
        # Finished: never counted.
        pod("akko-airflow-migrate-8k2lm", "akko", {"app.kubernetes.io/name": "akko-trino"}, [container("migrate", "apache/airflow:2.10.3")],
            phase="Succeeded", ready=False, sa="akko-airflow"),
        pod("coredns-7db6d8ff4d-4kq2n", "kube-system", {"k8s-app": "kube-dns"}, [container("coredns", "registry.k8s.io/coredns/coredns:v1.11.1", (53,))]),
    ]
    namespaces = {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {"resourceVersion": "90211"}, "items": [
        {"metadata": meta(n, labels={"kubernetes.io/metadata.name": n}), "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
        for n in ("default", "kube-system", "lattice", "akko")]}
    ours = webhooks("lattice-proxy-injector-lattice", [{
        "name": "inject.lattice.io",
        "clientConfig": {"service": {"namespace": "lattice", "name": "lattice-webhook", "path": "/inject", "port": 443}, "caBundle": "${CA_BUNDLE}"},
        "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "*"}],
        "failurePolicy": "Ignore", "matchPolicy": "Equivalent",
        "namespaceSelector": {"matchExpressions": [
            {"key": "config.lattice.io/admission-webhooks", "operator": "NotIn", "values": ["disabled"]},
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "lattice"]}]},
        "objectSelector": {"matchExpressions": [{"key": "config.lattice.io/admission-webhooks", "operator": "NotIn", "values": ["disabled"]}]},
        "sideEffects": "None", "timeoutSeconds": 10, "admissionReviewVersions": ["v1"], "reinvocationPolicy": "Never"}])
    all_webhooks = [ours, webhooks("cert-manager-webhook", [{
        "name": "webhook.cert-manager.io",
        "clientConfig": {"service": {"namespace": "cert-manager", "name": "cert-manager-webhook", "path": "/mutate", "port": 443}, "caBundle": "LS0tLS1CRUdJTg=="},
        "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": ["cert-manager.io", "acme.cert-manager.io"], "apiVersions": ["v1"], "resources": ["*/*"], "scope": "*"}],
        "failurePolicy": "Fail", "matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {}, "sideEffects": "None",
        "timeoutSeconds": 30, "admissionReviewVersions": ["v1"], "reinvocationPolicy": "Never"}])]
    if troubled:
        # Linkerd's injector left installed: its namespaceSelector takes every namespace but kube-system and cert-manager.
        all_webhooks.append(webhooks("linkerd-proxy-injector-webhook-config", [{
            "name": "linkerd-proxy-injector.linkerd.io",
            "clientConfig": {"service": {"namespace": "linkerd", "name": "linkerd-proxy-injector", "path": "/", "port": 443}, "caBundle": "LS0tLS1CRUdJTg=="},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods", "services"], "scope": "Namespaced"}],
            "failurePolicy": "Ignore", "matchPolicy": "Equivalent",
            "namespaceSelector": {"matchExpressions": [
                {"key": "config.linkerd.io/admission-webhooks", "operator": "NotIn", "values": ["disabled"]},
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "cert-manager"]}]},
            "objectSelector": {"matchExpressions": [{"key": "linkerd.io/control-plane-component", "operator": "DoesNotExist"}]},
            "sideEffects": "None", "timeoutSeconds": 10, "admissionReviewVersions": ["v1", "v1beta1"], "reinvocationPolicy": "Never"}]))
    return {
        "/api/v1/namespaces/lattice/pods?labelSelector=app.kubernetes.io/name=lattice-controller": podlist(ctrl),
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/lattice-proxy-injector-lattice": ours,
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations": {
            "kind": "MutatingWebhookConfigurationList", "apiVersion": "admissionregistration.k8s.io/v1", "metadata": {"resourceVersion": "90212"}, "items": all_webhooks},
        "/api/v1/namespaces/lattice/secrets/lattice-webhook-tls": {
            "kind": "Secret", "apiVersion": "v1", "metadata": meta("lattice-webhook-tls", "lattice"), "type": "kubernetes.io/tls",
            "data": {"tls.crt": "${TLS_CRT}", "tls.key": "${TLS_KEY}"}},
        "/api/v1/namespaces/lattice/secrets/lattice-identity-issuer": {
            "kind": "Secret", "apiVersion": "v1", "metadata": meta("lattice-identity-issuer", "lattice"), "type": "kubernetes.io/tls",
            "data": {"tls.crt": "${ISSUER_CRT}", "tls.key": "${ISSUER_KEY}", "ca.crt": "${ANCHORS_PEM_BASE64}"}},
        "/api/v1/namespaces": namespaces,
        "/api/v1/pods": podlist(ctrl + apps),
        "/api/v1/namespaces/lattice/configmaps/lattice-config": cm("lattice-config", "lattice", {"config.yaml": "proxy:\n  nativeSidecar: auto\n"}),
        "/api/v1/configmaps?labelSelector=lattice.io/mesh-config=true": {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": "90213"}, "items": [
            cm("akko-mtls-injection", "akko", {"config.yaml": "inject:\n  services:\n    - name: trino\n      matchLabels:\n        app.kubernetes.io/name: akko-trino\n"},
               {"lattice.io/mesh-config": "true", "app.kubernetes.io/managed-by": "Helm"})]},
        "/api/v1/namespaces/lattice/configmaps/lattice-identity-trust-roots": cm("lattice-identity-trust-roots", "lattice", {"ca-bundle.crt": "${ANCHORS_PEM}"}),
    }

for name, troubled in (("healthy", False), ("troubled", True)):
    with open(f"{name}.json", "w") as out:
        json.dump(cluster(troubled), out, indent=1)
        out.write("\n")
