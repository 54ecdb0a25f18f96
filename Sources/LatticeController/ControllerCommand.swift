import ArgumentParser
import FoundationEssentials
import LatticeAdmin
import LatticeDiscovery
import LatticeIdentity
import LatticeInjector
import LatticeKube
import LatticeKubeDiscovery
import LatticeModel
import LatticeObservability
import LatticePolicy
import Metrics
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// `lattice-controller`: the control plane: the identity service (the CA), and the destination and policy services
/// over one discovery store (a local registry file, or Kubernetes), all on one gRPC-over-TLS API.
public struct ControllerCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lattice-controller",
        abstract: "Lattice's control plane: identity (CA), destination and policy services, and admin endpoints."
    )

    @Option(help: "Address of the control-plane gRPC API over TLS: identity, destination and policy.")
    var identityAddr: String = "0.0.0.0:\(WellKnown.identityPort)"

    @Option(help: "Address of the admin endpoints (/metrics, /ready, /live).")
    var adminAddr: String = "0.0.0.0:\(WellKnown.controllerAdminPort)"

    @Option(help: "Directory of the mounted issuer Secret (tls.crt, tls.key, ca.crt).")
    var issuerDir: String?

    @Option(help: "Issuer certificate file (with --issuer-key and --trust-anchors, instead of --issuer-dir).")
    var issuerCertificate: String?

    @Option(help: "Issuer private key file (ECDSA P-256).")
    var issuerKey: String?

    @Option(help: "Trust anchors bundle (PEM, one or more roots).")
    var trustAnchors: String?

    @Option(help: "Local tokens file (TOKEN NAMESPACE/SERVICEACCOUNT [NOT-AFTER] a line): local-mode authentication.")
    var tokensFile: String?

    @Flag(help: "Kubernetes mode: tokens checked with TokenReview, discovery from Pods, Services, EndpointSlices and Namespaces (in-cluster config, or --kubeconfig).")
    var kubernetes = false

    @Option(help: "Kubeconfig to reach the API server from outside the cluster (with --kubernetes).")
    var kubeconfig: String?

    @Option(help: "Trust domain of the mesh.")
    var trustDomain: String = "cluster.local"

    @Option(help: "Namespace of the control plane (part of every identity).")
    var controlPlaneNamespace: String = "lattice"

    @Option(help: "Lifetime of workload certificates (e.g. 24h, 90m).")
    var leafLifetime: String = "24h"

    @Option(help: "How often the issuer files are checked for a change.")
    var reloadInterval: String = "2s"

    @Option(help: "Identity requests in flight at once.")
    var maxInFlight: Int = 256

    @Option(help: "Identity requests per second allowed from one peer address (0: no limit).")
    var perPeerRate: Double = 500

    @Option(help: "Local registry file (YAML/JSON) of workloads and services: local-mode discovery, watched for changes.")
    var registry: String?

    @Option(help: "Policy of workloads whose annotations (and namespace's) set none.")
    var defaultInboundPolicy: String = "all-unauthenticated"

    @Option(help: "Cluster networks (CIDRs, comma-separated) for the cluster-* policies.")
    var clusterNetworks: String = "10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8"

    @Option(help: "DNS suffix of service names (NAME.NS.svc.<cluster-domain>).")
    var clusterDomain: String = "cluster.local"

    @Option(help: "Address of the injector's admission webhook (HTTPS, POST /inject); no webhook when absent.")
    var webhookAddr: String?

    @Option(help: "Directory of the webhook's serving certificate (tls.crt, tls.key: the mounted Secret), reloaded on change.")
    var webhookTlsDir: String?

    @Option(help: "Mesh configuration (config.yaml of the lattice-config ConfigMap, mounted): proxy image, resources, opt-in selections.")
    var meshConfig: String?

    @Option(help: "Write the bound addresses as JSON to this file once listening.")
    var addressesFile: String?

    @Option(help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: String = "info"

    public init() {}

    public func validate() throws {
        let explicit = [self.issuerCertificate, self.issuerKey, self.trustAnchors].compactMap { $0 }
        if self.issuerDir != nil && !explicit.isEmpty {
            throw ValidationError(
                "give the issuer either as --issuer-dir or as --issuer-certificate/--issuer-key/--trust-anchors, not both"
            )
        }
        if self.issuerDir == nil && explicit.count != 3 {
            throw ValidationError(
                "no issuer: give --issuer-dir DIR (tls.crt, tls.key, ca.crt) or all of --issuer-certificate, "
                    + "--issuer-key and --trust-anchors"
            )
        }
        if self.tokensFile != nil && self.kubernetes {
            throw ValidationError("choose one way to authenticate workloads: --tokens-file or --kubernetes, not both")
        }
        if self.tokensFile == nil && !self.kubernetes {
            throw ValidationError("no authentication: give --tokens-file FILE (local mode) or --kubernetes")
        }
        if self.registry != nil && self.kubernetes {
            throw ValidationError(
                "choose one discovery source: --registry FILE (local mode) or --kubernetes (the API server), not both"
            )
        }
        if let registry = self.registry {
            do {
                _ = try LocalRegistryService.load(path: registry)
            } catch {
                throw ValidationError("--registry \(error.reason)")
            }
        }
        _ = try self.discoverySettings()
        if self.kubeconfig != nil && !self.kubernetes {
            throw ValidationError("--kubeconfig only applies with --kubernetes")
        }
        guard try Self.parseDuration(self.leafLifetime, flag: "--leaf-lifetime") >= .seconds(10) else {
            throw ValidationError("--leaf-lifetime must be at least 10s (the default is 24h)")
        }
        guard self.maxInFlight >= 1 else { throw ValidationError("--max-in-flight must be at least 1") }
        guard self.perPeerRate >= 0 else { throw ValidationError("--per-peer-rate must be 0 (no limit) or more") }
        _ = try Self.parseDuration(self.reloadInterval, flag: "--reload-interval")
        _ = try Self.parseAddress(self.identityAddr, flag: "--identity-addr")
        _ = try Self.parseAddress(self.adminAddr, flag: "--admin-addr")
        if let webhookAddr = self.webhookAddr {
            _ = try Self.parseAddress(webhookAddr, flag: "--webhook-addr")
            guard self.webhookTlsDir != nil else {
                throw ValidationError("--webhook-addr needs --webhook-tls-dir DIR holding the webhook's tls.crt and tls.key")
            }
        } else if self.webhookTlsDir != nil {
            throw ValidationError("--webhook-tls-dir only applies with --webhook-addr")
        }
        if let meshConfig = self.meshConfig {
            do {
                _ = try MeshConfigService.read(meshConfig)
            } catch {
                throw ValidationError("--mesh-config \(error)")
            }
        }
        guard Logger.Level(rawValue: self.logLevel) != nil else {
            throw ValidationError("--log-level '\(self.logLevel)' is not one of trace, debug, info, notice, warning, error")
        }
    }

    public func run() async throws {
        let level = Logger.Level(rawValue: self.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "lattice.controller")
        let domain = try IdentityDomain(controlPlaneNamespace: self.controlPlaneNamespace, trustDomain: self.trustDomain)
        let files =
            self.issuerDir.map { IssuerFiles(secretDirectory: $0) }
            ?? IssuerFiles(
                certificatePath: self.issuerCertificate!,
                keyPath: self.issuerKey!,
                anchorsPath: self.trustAnchors!
            )
        let authenticator: any TokenAuthenticator
        let kubernetesClient = try self.kubernetes ? KubernetesTokenAuthenticator.client(kubeconfig: self.kubeconfig, logger: logger) : nil
        if let tokensFile = self.tokensFile {
            let local = LocalTokenAuthenticator(path: tokensFile, domain: domain)
            do {
                try local.load()
            } catch {
                throw ValidationError("--tokens-file: \(error.reason)")
            }
            authenticator = local
        } else {
            authenticator = KubernetesTokenAuthenticator.make(client: kubernetesClient!, domain: domain)
        }
        let registry = MetricsRegistry()
        let discovery = DiscoveryStore()
        let metrics = IdentityMetrics(factory: registry.factory)
        let signer = LeafSigner(lifetime: try Self.parseDuration(self.leafLifetime, flag: "--leaf-lifetime"))
        let store = IssuerStore(controllerIdentity: domain.controllerIdentity)
        let limiter = RequestLimiter(
            settings: .init(maxInFlight: self.maxInFlight, perPeerRate: self.perPeerRate, perPeerBurst: max(1, self.perPeerRate * 2))
        )
        let issuer = IdentityIssuer(
            store: store,
            authenticator: authenticator,
            signer: signer,
            domain: domain,
            limiter: limiter,
            metrics: metrics,
            logger: logger
        )
        let reload = IssuerReloadService(
            files: files,
            store: store,
            signer: signer,
            interval: try Self.parseDuration(self.reloadInterval, flag: "--reload-interval"),
            metrics: metrics,
            logger: logger
        )
        let admin = try Self.parseAddress(self.adminAddr, flag: "--admin-addr")
        let adminServer = AdminServer(
            host: admin.host,
            port: admin.port,
            addressSetting: "--admin-addr",
            routes: [
                "/metrics": { _ in
                    AdminServer.Response(
                        status: .ok,
                        contentType: "text/plain; version=0.0.4; charset=utf-8",
                        body: registry.exposition()
                    )
                },
                "/ready": { _ in
                    guard let issuer = store.issuer else {
                        return .text(.serviceUnavailable, "no valid issuer loaded\n")
                    }
                    guard issuer.certificate.notValidAfter > Date() else {
                        return .text(.serviceUnavailable, "the issuer expired; install a renewed one\n")
                    }
                    guard discovery.current != nil else {
                        return .text(.serviceUnavailable, "discovery has no registry loaded yet\n")
                    }
                    return .text(.ok, "ready\n")
                },
                "/live": { _ in .text(.ok, "live\n") },
            ],
            logger: logger
        )
        let identityAddress = try Self.parseAddress(self.identityAddr, flag: "--identity-addr")
        let settings = try self.discoverySettings()
        let discoveryMetrics = DiscoveryMetrics(factory: registry.factory)
        Gauge(
            label: "lattice_build_info",
            dimensions: [("component", "controller"), ("version", LatticeVersion.current)],
            factory: registry.factory
        ).record(1)
        let identityServer = IdentityServer(
            host: identityAddress.host,
            port: identityAddress.port,
            store: store,
            services: [
                IdentityGRPCService(issuer: issuer),
                DestinationGRPCService(store: discovery, settings: settings, metrics: discoveryMetrics, logger: logger),
                PolicyGRPCService(store: discovery, settings: settings, metrics: discoveryMetrics, logger: logger),
            ],
            logger: logger,
            onShutdown: { discovery.close() }
        )
        var webhookServer: AdmissionWebhookServer?
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: adminServer), .init(service: reload),
        ]
        let kubernetesBackend = kubernetesClient.map { client in
            KubernetesDiscoveryBackend(
                api: client,
                logger: logger,
                publish: { snapshot in
                    if discovery.publish(snapshot) { discoveryMetrics.snapshots.increment() }
                }
            )
        }
        if let webhookAddr = self.webhookAddr, let tlsDirectory = self.webhookTlsDir {
            let meshConfig: MeshConfigService
            do {
                meshConfig = try MeshConfigService(
                    path: self.meshConfig,
                    api: kubernetesClient,
                    interval: .seconds(5),
                    logger: logger
                )
            } catch {
                throw ValidationError("--mesh-config \(error)")
            }
            let supportsNativeSidecars = await Self.clusterSupportsNativeSidecars(kubernetesClient, logger: logger)
            let mutator = InjectorPodMutator(
                config: { meshConfig.current },
                nativeSidecar: { config in
                    switch config.proxy.nativeSidecar {
                    case .true: true
                    case .false: false
                    case .auto: supportsNativeSidecars
                    }
                },
                namespaces: { name in
                    if let backend = kubernetesBackend {
                        guard let namespace = backend.currentState.namespaces.objects[name] else { return nil }
                        return NamespaceContext(
                            name: name,
                            annotations: namespace.metadata.annotations ?? [:],
                            labels: namespace.metadata.labels ?? [:]
                        )
                    }
                    let annotations = discovery.current?.snapshot.namespaceAnnotations[name] ?? [:]
                    return NamespaceContext(name: name, annotations: annotations, labels: [:])
                },
                anchors: { store.issuer?.anchors }
            )
            let address = try Self.parseAddress(webhookAddr, flag: "--webhook-addr")
            let webhook: AdmissionWebhookServer
            do {
                webhook = try AdmissionWebhookServer(
                    host: address.host,
                    port: address.port,
                    certificatePath: tlsDirectory + "/" + WellKnown.secretCertificateFile,
                    keyPath: tlsDirectory + "/" + WellKnown.secretKeyFile,
                    reloadInterval: try Self.parseDuration(self.reloadInterval, flag: "--reload-interval"),
                    responder: AdmissionResponder(mutator: mutator, metrics: WebhookMetrics(factory: registry.factory), logger: logger),
                    logger: logger
                )
            } catch {
                throw ValidationError(
                    "--webhook-tls-dir \(tlsDirectory): cannot load tls.crt and tls.key (\(error)); "
                        + "mount the webhook's serving Secret there"
                )
            }
            services.append(.init(service: meshConfig))
            services.append(.init(service: webhook))
            if let kubernetesClient, let kubernetesBackend {
                services.append(
                    .init(
                        service: TrustRootsDistributor(
                            store: kubernetesClient,
                            namespaces: {
                                let state = kubernetesBackend.currentState
                                guard state.hasSynced else { return nil }
                                return state.namespaces.objects.values.compactMap { namespace in
                                    namespace.metadata.name.map { ($0, namespace.metadata.labels ?? [:]) }
                                }
                            },
                            anchors: { store.issuer?.anchors },
                            controlPlaneNamespace: self.controlPlaneNamespace,
                            interval: .seconds(10),
                            logger: logger
                        )
                    )
                )
            }
            webhookServer = webhook
        }
        if let path = self.registry {
            services.append(
                .init(
                    service: LocalRegistryService(
                        path: path,
                        store: discovery,
                        interval: try Self.parseDuration(self.reloadInterval, flag: "--reload-interval"),
                        metrics: discoveryMetrics,
                        logger: logger
                    )
                )
            )
        } else if let kubernetesBackend {
            services.append(.init(service: KubernetesDiscoveryService(backend: kubernetesBackend)))
        } else {
            logger.notice("no --registry: destination answers every address 'not meshed' and policy 'unknown'")
            discovery.publish(.empty)
        }
        services.append(.init(service: identityServer))
        if let addressesFile = self.addressesFile {
            services.append(
                .init(service: AddressesFileService(path: addressesFile, admin: adminServer, identity: identityServer, webhook: webhookServer))
            )
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
    }

    /// Whether the API server is Kubernetes ≥ 1.29 (native sidecars), asked once at start; false in local mode or
    /// when `/version` can't be read (the classic sidecar works everywhere).
    static func clusterSupportsNativeSidecars(_ api: KubernetesClient?, logger: Logger) async -> Bool {
        guard let api else { return false }
        do {
            let version = try await api.serverVersion()
            logger.info("Kubernetes \(version)", metadata: ["lattice.native_sidecars": "\(version.isAtLeast(major: 1, minor: 29))"])
            return version.isAtLeast(major: 1, minor: 29)
        } catch {
            logger.warning("cannot read the API server's /version; injecting classic sidecars", metadata: ["error.message": "\(error)"])
            return false
        }
    }

    func discoverySettings() throws -> DiscoverySettings {
        let policy: DefaultInboundPolicy
        do {
            policy = try DefaultInboundPolicy.parse(self.defaultInboundPolicy)
        } catch {
            throw ValidationError("--default-inbound-policy \(error.reason)")
        }
        let networks: [IPNetwork]
        do {
            networks = try IPNetwork.parseList(self.clusterNetworks)
        } catch {
            throw ValidationError("--cluster-networks \(error.reason)")
        }
        return DiscoverySettings(
            identityDomain: try IdentityDomain(controlPlaneNamespace: self.controlPlaneNamespace, trustDomain: self.trustDomain),
            clusterDomain: self.clusterDomain,
            defaultInboundPolicy: policy,
            clusterNetworks: networks
        )
    }

    /// Parses `90s`, `15m`, `24h`, `8760h`, `1h30m`.
    public static func parseDuration(_ text: String, flag: String) throws -> Duration {
        guard let duration = DurationText.parse(text) else {
            throw ValidationError("\(flag) '\(text)' is not a duration (use e.g. 30s, 15m, 24h)")
        }
        return duration
    }

    static func parseAddress(_ text: String, flag: String) throws -> HostPort {
        guard let address = HostPort(parsing: text) else { throw ValidationError("\(flag) '\(text)' is not HOST:PORT") }
        return address
    }
}
