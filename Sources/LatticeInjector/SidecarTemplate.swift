import LatticeModel

/// The parts of the sidecar that depend only on the mesh config, built once per ``PodInjector`` (not per pod), and
/// the per-pod assembly of the init container, the proxy container and the volumes.
struct SidecarTemplate: Sendable {
    let config: MeshConfig
    let native: Bool
    /// Environment every proxy gets, in order (the per-pod part follows).
    let staticEnvironment: [JSONValue]
    let volumes: [JSONValue]
    let proxyVolumeMounts: JSONValue
    let proxyPorts: JSONValue
    let proxySecurityContext: JSONValue
    let initSecurityContext: JSONValue
    let initResources: JSONValue
    let initBaseArguments: [JSONValue]
    let identityNameTemplate: String

    init(config: MeshConfig, native: Bool) {
        self.config = config
        self.native = native
        let proxy = config.proxy
        func env(_ name: String, _ value: String) -> JSONValue { ["name": .string(name), "value": .string(value)] }
        func fieldEnv(_ name: String, _ path: String) -> JSONValue {
            ["name": .string(name), "valueFrom": ["fieldRef": ["fieldPath": .string(path)]]]
        }
        self.identityNameTemplate =
            "$(_pod_sa).$(_pod_ns).serviceaccount.identity.\(config.controller.namespace).\(config.trustDomain)"
        // Downward API first: Kubernetes expands $(VAR) only from variables defined earlier in the list.
        self.staticEnvironment = [
            fieldEnv("_pod_name", "metadata.name"),
            fieldEnv("_pod_ns", "metadata.namespace"),
            fieldEnv("_pod_sa", "spec.serviceAccountName"),
            env("LATTICE_PROXY_TRANSPARENT", "true"),
            env("LATTICE_PROXY_IDENTITY_NAME", self.identityNameTemplate),
            env("LATTICE_PROXY_IDENTITY_TOKEN_FILE", "\(SidecarNames.tokenMountPath)/\(SidecarNames.tokenFile)"),
            env("LATTICE_PROXY_IDENTITY_TRUST_ANCHORS", "\(SidecarNames.trustRootsMountPath)/\(SidecarNames.trustRootsKey)"),
            env("LATTICE_PROXY_IDENTITY_SVC_ADDR", config.controller.address),
            env("LATTICE_PROXY_IDENTITY_SVC_NAME", config.controller.identity),
            env("LATTICE_PROXY_DESTINATION_SVC_ADDR", config.controller.address),
            env("LATTICE_PROXY_DESTINATION_SVC_NAME", config.controller.identity),
            env("LATTICE_PROXY_WORKLOAD", "$(_pod_ns)/$(_pod_name)"),
            env("LATTICE_PROXY_INBOUND_LISTEN_ADDR", "0.0.0.0:\(proxy.inboundPort)"),
            env("LATTICE_PROXY_OUTBOUND_LISTEN_ADDR", "127.0.0.1:\(proxy.outboundPort)"),
            env("LATTICE_PROXY_ADMIN_LISTEN_ADDR", "0.0.0.0:\(proxy.adminPort)"),
            env("LATTICE_PROXY_CLUSTER_NETWORKS", config.clusterNetworks.joined(separator: ",")),
            env("LATTICE_PROXY_MAX_CONNECTIONS", String(proxy.maxConnections)),
        ]
        self.volumes = [
            [
                "name": .string(SidecarNames.tokenVolume),
                "projected": [
                    "sources": [
                        [
                            "serviceAccountToken": [
                                "audience": .string(WellKnown.identityTokenAudience),
                                "expirationSeconds": .integer(SidecarNames.tokenExpirationSeconds),
                                "path": .string(SidecarNames.tokenFile),
                            ]
                        ]
                    ]
                ],
            ],
            [
                "name": .string(SidecarNames.trustRootsVolume),
                "configMap": ["name": .string(SidecarNames.trustRootsConfigMap)],
            ],
            ["name": .string(SidecarNames.xtablesLockVolume), "emptyDir": [:]],
        ]
        self.proxyVolumeMounts = [
            ["name": .string(SidecarNames.tokenVolume), "mountPath": .string(SidecarNames.tokenMountPath), "readOnly": true],
            ["name": .string(SidecarNames.trustRootsVolume), "mountPath": .string(SidecarNames.trustRootsMountPath), "readOnly": true],
        ]
        self.proxyPorts = [
            ["name": .string(SidecarNames.proxyPortName), "containerPort": .integer(Int64(proxy.inboundPort)), "protocol": "TCP"],
            ["name": .string(SidecarNames.adminPortName), "containerPort": .integer(Int64(proxy.adminPort)), "protocol": "TCP"],
        ]
        self.proxySecurityContext = [
            "allowPrivilegeEscalation": false,
            "capabilities": ["drop": ["ALL"]],
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "runAsUser": .integer(Int64(proxy.uid)),
            "seccompProfile": ["type": "RuntimeDefault"],
        ]
        self.initSecurityContext = [
            "allowPrivilegeEscalation": false,
            "capabilities": ["add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]],
            "privileged": false,
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": false,
            "runAsUser": 0,
            "seccompProfile": ["type": "RuntimeDefault"],
        ]
        self.initResources = [
            "limits": ["cpu": "100m", "memory": "64Mi"],
            "requests": ["cpu": "10m", "memory": "16Mi"],
        ]
        var proxyPorts = ["4190"]
        if proxy.adminPort != 4190 { proxyPorts.append(String(proxy.adminPort)) }
        self.initBaseArguments = [
            "--inbound-port", .string(String(proxy.inboundPort)),
            "--outbound-port", .string(String(proxy.outboundPort)),
            "--proxy-uid", .string(String(proxy.uid)),
            "--proxy-ports", .string(proxyPorts.joined(separator: ",")),
        ]
    }

    /// The `lattice-init` container for a pod with these settings.
    func initContainer(_ settings: PodSettings) -> JSONValue {
        var args = self.initBaseArguments
        if !settings.skipInboundPorts.isEmpty { args += ["--skip-inbound-ports", .string(settings.skipInboundPorts)] }
        if !settings.skipOutboundPorts.isEmpty { args += ["--skip-outbound-ports", .string(settings.skipOutboundPorts)] }
        if !settings.skipSubnets.isEmpty { args += ["--skip-subnets", .string(settings.skipSubnets)] }
        return [
            "name": .string(SidecarNames.initContainer),
            "image": .string(self.config.proxy.initImage),
            "imagePullPolicy": .string(self.config.proxy.imagePullPolicy),
            "command": ["lattice-init"],
            "args": .array(args),
            "resources": self.initResources,
            "securityContext": self.initSecurityContext,
            "terminationMessagePolicy": "FallbackToLogsOnError",
            "volumeMounts": [["name": .string(SidecarNames.xtablesLockVolume), "mountPath": "/run"]],
        ]
    }

    /// The `lattice-proxy` container: native (an init container that keeps running, with a startup probe) or classic
    /// (the first regular container, with a post-start hook that holds the app until the proxy is ready).
    func proxyContainer(_ settings: PodSettings) -> JSONValue {
        func env(_ name: String, _ value: String) -> JSONValue { ["name": .string(name), "value": .string(value)] }
        var environment = self.staticEnvironment
        environment.append(env("LATTICE_PROXY_DEFAULT_INBOUND_POLICY", settings.defaultInboundPolicy))
        environment.append(env("LATTICE_PROXY_OPAQUE_PORTS", settings.opaquePorts))
        if !settings.probes.isEmpty {
            environment.append(env("LATTICE_PROXY_INBOUND_PROBES", settings.probes.joined(separator: ",")))
        }
        environment.append(env("LATTICE_PROXY_LOG_LEVEL", settings.logLevel))

        let adminPort = JSONValue.integer(Int64(self.config.proxy.adminPort))
        func probe(_ path: String, _ extra: KeyValuePairs<String, JSONValue>) -> JSONValue {
            var object = JSONObject(["httpGet": ["path": .string(path), "port": adminPort]])
            for (key, value) in extra { object[key] = value }
            return .object(object)
        }
        var container = JSONObject([
            "name": .string(SidecarNames.proxyContainer),
            "image": .string(self.config.proxy.image),
            "imagePullPolicy": .string(self.config.proxy.imagePullPolicy),
            "command": ["lattice-proxy"],
            "env": .array(environment),
            "ports": self.proxyPorts,
        ])
        if let resources = Self.resources(settings.resources) { container["resources"] = resources }
        container["securityContext"] = self.proxySecurityContext
        container["readinessProbe"] = probe("/ready", ["initialDelaySeconds": 2, "periodSeconds": 5, "failureThreshold": 3])
        container["livenessProbe"] = probe("/live", ["initialDelaySeconds": 10, "periodSeconds": 10, "failureThreshold": 3])
        if self.native {
            container["restartPolicy"] = "Always"
            container["startupProbe"] = probe("/ready", ["periodSeconds": 1, "failureThreshold": 120])
        } else {
            container["lifecycle"] = ["postStart": ["exec": ["command": .array(SidecarNames.awaitReadyCommand.map { .string($0) })]]]
        }
        container["terminationMessagePolicy"] = "FallbackToLogsOnError"
        container["volumeMounts"] = self.proxyVolumeMounts
        return .object(container)
    }

    static func resources(_ r: MeshConfig.Resources) -> JSONValue? {
        var requests = JSONObject()
        var limits = JSONObject()
        if let v = r.cpuRequest { requests["cpu"] = .string(v) }
        if let v = r.memoryRequest { requests["memory"] = .string(v) }
        if let v = r.cpuLimit { limits["cpu"] = .string(v) }
        if let v = r.memoryLimit { limits["memory"] = .string(v) }
        var out = JSONObject()
        if !limits.isEmpty { out["limits"] = .object(limits) }
        if !requests.isEmpty { out["requests"] = .object(requests) }
        return out.isEmpty ? nil : .object(out)
    }
}
