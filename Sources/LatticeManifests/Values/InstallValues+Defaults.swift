// The lattice-control-plane chart's values.yaml and values-ha.yaml, so `lattice install` starts from the same
// defaults as `helm install`. ChartParityTests checks these equal the files in charts/lattice-control-plane.

extension InstallValues {
    /// `charts/lattice-control-plane/values.yaml`.
    public static let defaultsYAML = """
    # Values of the lattice-control-plane chart. `lattice install` reads the same keys (-f, --set, --set-file) and
    # renders the same objects; LatticeManifests' InstallValues.defaultsYAML holds this document's values and a test
    # keeps the two equal. Reference: docs/install.md.

    # Trust anchors (PEM, one or more roots): --set-file identityTrustAnchorsPEM=ca.crt
    identityTrustAnchorsPEM: ""
    # Trust domain of workload identities (<sa>.<ns>.serviceaccount.identity.<namespace>.<trust domain>).
    identityTrustDomain: cluster.local
    # DNS suffix of services (NAME.NS.svc.<clusterDomain>).
    clusterDomain: cluster.local
    # CIDRs the proxies treat as the cluster (policies cluster-*), comma-separated.
    clusterNetworks: "10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8"
    # Policy of workloads that set none: all-unauthenticated, all-authenticated, cluster-unauthenticated,
    # cluster-authenticated, deny, audit.
    defaultInboundPolicy: all-unauthenticated
    # Render the control plane's Namespace object (lattice install: true; Helm: use --create-namespace instead).
    installNamespace: false

    identity:
      issuer:
        # Lifetime of workload certificates; proxies renew at 70 %.
        issuanceLifetime: 24h
        tls:
          # --set-file identity.issuer.tls.crtPEM=issuer.crt
          crtPEM: ""
          # --set-file identity.issuer.tls.keyPEM=issuer.key
          keyPEM: ""

    controller:
      image: ghcr.io/lattice-mesh/lattice-controller:0.4.0
      imagePullPolicy: IfNotPresent
      replicas: 1
      logLevel: info
      # Identity requests in flight at once, and per peer address per second (0: no limit).
      maxInFlight: 256
      perPeerRate: 500
      resources:
        requests:
          cpu: 100m
          memory: 64Mi
        limits:
          cpu: ""
          memory: 256Mi
      # Spread replicas over nodes (preferred, by kubernetes.io/hostname).
      antiAffinity: false
      podDisruptionBudget:
        enabled: false
        maxUnavailable: 1
      nodeSelector: {}
      tolerations: []

    proxy:
      image: ghcr.io/lattice-mesh/lattice-proxy:0.4.0
      initImage: ghcr.io/lattice-mesh/lattice-proxy:0.4.0
      imagePullPolicy: IfNotPresent
      uid: 2102
      logLevel: info
      # "true": native sidecar (init container, restartPolicy Always; Kubernetes >= 1.29); "false": a regular
      # container; "auto": native when the controller finds Kubernetes >= 1.29.
      nativeSidecar: auto
      # Defaults from the measured footprint (bench/README.md: ~24 MB idle, ~30 MB after load).
      resources:
        requests:
          cpu: 20m
          memory: 32Mi
        limits:
          cpu: ""
          memory: 128Mi
      maxConnections: 10000
      opaquePorts: "25,587,3306,4444,5432,6379,9300,11211"
      skipInboundPorts: ""
      skipOutboundPorts: ""

    webhook:
      # Ignore: a controller outage never blocks pod creation (pods start unmeshed; lattice check lists them).
      failurePolicy: Ignore
      timeoutSeconds: 10
      # Lifetime of the webhook's generated serving certificate (renewed on every upgrade).
      certificateValidityDays: 365

    monitoring:
      podMonitor:
        # A monitoring.coreos.com/v1 PodMonitor for the proxies (needs the Prometheus Operator's CRDs).
        enabled: true
        interval: 10s
        labels: {}

    # Opt-in by configuration for one application namespace (the akko-mtls chart does the same from the app's release).
    # Strategy A, namespace-wide: injectNamespace: true. Strategy B, per service: global.serviceMesh.inject.<svc>: true.
    # Never both.
    injectNamespace: false
    injectTarget:
      # The application namespace the flags apply to (e.g. akko); required when any flag is on.
      namespace: ""
      # Prefix of the default per-service selector app.kubernetes.io/name: <release>-<svc>; empty: the namespace.
      release: ""
      # Per-service selectors replacing the default: <svc>: {label: value}.
      selectors: {}
    global:
      serviceMesh:
        inject: {}
        # The runbook's spelling, honoured the same way.
        linkerdInject: {}
    """

    /// `charts/lattice-control-plane/values-ha.yaml` (`lattice install --ha`).
    public static let highAvailabilityYAML = """
    # High availability: helm install … -f values-ha.yaml, or lattice install --ha.
    controller:
      replicas: 3
      antiAffinity: true
      podDisruptionBudget:
        enabled: true
        maxUnavailable: 1
      resources:
        requests:
          cpu: 200m
          memory: 128Mi
        limits:
          memory: 512Mi
    webhook:
      # With replicas spread over nodes, a failing webhook should stop pods starting unmeshed.
      failurePolicy: Fail
    """

    /// The defaults as a tree.
    public static let defaults: ValueTree = {
        // The constant above is valid YAML (tested).
        (try? ValueTree.parseYAML(InstallValues.defaultsYAML, source: "values.yaml")) ?? .emptyObject
    }()

    /// The HA overlay as a tree.
    public static let highAvailability: ValueTree = {
        (try? ValueTree.parseYAML(InstallValues.highAvailabilityYAML, source: "values-ha.yaml")) ?? .emptyObject
    }()
}
