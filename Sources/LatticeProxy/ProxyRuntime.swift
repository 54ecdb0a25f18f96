import LatticeModel
import LatticeAdmin
import LatticeProxyCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import UnixSignals

/// The sidecar: certificate rotation, the admin endpoints, the outbound listeners and the inbound listener, in one
/// `ServiceGroup` (inbound last, so it stops first on SIGTERM, then outbound).
public struct ProxyRuntime: Sendable {
    let config: ProxyConfig
    let logger: Logger

    public init(config: ProxyConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let credentials = ProxyCredentials()
        let metrics = ProxyMetrics()
        let config = self.config
        let logger = self.logger
        let context = ProxyContext(config: config, credentials: credentials, metrics: metrics, logger: logger)
        let trigger = ShutdownTrigger()
        let budget = ConnectionBudget(limit: config.maxConnections)
        let refusedAtLimit = metrics.inboundRefused.cell(["reason": "connection_limit"])
        let draining = DrainFlag()
        let admin = AdminServer(
            host: config.admin.host,
            port: config.admin.port,
            addressSetting: "LATTICE_PROXY_ADMIN_LISTEN_ADDR",
            routes: [
                "/metrics": { _ in
                    AdminServer.Response(
                        status: .ok,
                        contentType: "text/plain; version=0.0.4; charset=utf-8",
                        body: Array(metrics.registry.render().utf8)
                    )
                },
                "/ready": { _ in
                    if draining.isSet { return .text(.serviceUnavailable, "not ready: shutting down\n") }
                    return credentials.isReady ? .text(.ok, "ready\n") : .text(.serviceUnavailable, "not ready: no certificate yet\n")
                },
                "/live": { _ in .text(.ok, "live\n") },
                "/tap": { request in
                    let since = request.query["since"].flatMap { UInt64($0) }
                    return AdminServer.Response(
                        status: .ok, contentType: "application/x-ndjson", body: Array(metrics.tap.poll(since: since).utf8)
                    )
                },
                "/shutdown": { request in
                    guard request.method == .POST else { return .text(.methodNotAllowed, "POST /shutdown\n") }
                    guard let address = request.remoteAddress?.ipAddress, address == "127.0.0.1" || address == "::1" else {
                        return .text(.forbidden, "/shutdown is only accepted from loopback\n")
                    }
                    trigger.trigger()
                    return .text(.ok, "shutting down\n")
                },
            ],
            logger: logger,
            group: group
        )
        let rotation = CertificateRotationService(
            config: config,
            credentials: credentials,
            metrics: metrics,
            group: group,
            logger: logger
        )
        /// A listener sharing the proxy's event loop, connection budget and drain time.
        func listener(
            _ name: String,
            _ address: HostPort,
            setting: String,
            onAccept: @escaping @Sendable (any Channel) -> Void
        ) -> ListenerServer {
            ListenerServer(
                name: name,
                address: address,
                addressSetting: setting,
                group: group,
                logger: logger,
                drainTime: config.shutdownGrace,
                budget: budget,
                onRefused: { refusedAtLimit.add(1) },
                onAccept: { channel in
                    context.activity.bump()
                    onAccept(channel)
                }
            )
        }
        let inboundServer = listener("inbound", config.inbound, setting: "LATTICE_PROXY_INBOUND_LISTEN_ADDR") { channel in
            let timeout = TimeAmount.nanoseconds(config.detectTimeout.totalNanoseconds)
            let detect: @Sendable (HostPort?) -> Void = { original in
                do {
                    try channel.pipeline.syncOperations.addHandler(
                        DetectionHandler(timeout: timeout) { detected, buffered, handlerContext in
                            InboundPath.route(detected, buffered: buffered, channel: handlerContext.channel, original: original, proxy: context)
                        }
                    )
                } catch {
                    channel.close(promise: nil)
                }
            }
            if config.transparent {
                OriginalDestination.of(channel).whenSuccess(detect)
            } else {
                detect(nil)
            }
        }
        // ServiceGroup stops services one at a time, last first: inbound stops accepting and drains first, while the
        // outbound listeners still serve the app's own calls (for at least the outbound wait), then they stop too.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: admin), .init(service: rotation)]
        let watcher = ControlPlaneWatcher(
            address: config.destinationService,
            serverName: config.destinationServiceName,
            anchorsFile: config.trustAnchorsFile,
            watches: [],
            group: group,
            connectTimeout: .nanoseconds(config.connectTimeout.totalNanoseconds),
            metrics: metrics,
            logger: logger
        )
        for upstream in config.upstreams {
            let target: OutboundTarget
            if let discovered = upstream.discoveryTarget {
                let version = context.routesVersion
                target = OutboundTarget(listen: upstream.listen, target: discovered) { version.bump() }
                watcher.add(
                    .init(
                        name: "destination \(discovered)",
                        path: "/lattice.destination.v1.Destination/Get",
                        request: DiscoveryAPI.getDestination(target: discovered.description, proxyIdentity: config.identity.name)
                    ) { message in
                        if let update = try DestinationUpdate.decode(message), target.apply(update) {
                            logger.info("destination answer", metadata: ["target": "\(discovered)", "endpoints": "\(target.current.upstream.endpoints)"])
                        }
                    }
                )
            } else {
                target = OutboundTarget(fixed: upstream)
            }
            services.append(
                .init(
                    service: listener("outbound \(upstream.listen)", upstream.listen, setting: "LATTICE_PROXY_OUTBOUND_UPSTREAMS") { channel in
                        OutboundPath.accept(channel: channel, target: target, proxy: context)
                    }
                )
            )
        }
        if let workload = config.workload {
            let policy = context.inboundPolicy
            watcher.add(
                .init(
                    name: "policy \(workload.namespace)/\(workload.name)",
                    path: "/lattice.policy.v1.InboundPolicies/Watch",
                    request: DiscoveryAPI.watchInbound(
                        namespace: workload.namespace, workload: workload.name, proxyIdentity: config.identity.name
                    )
                ) { message in
                    let update = try PolicyUpdate(decoding: message)
                    let before = policy.current
                    let problems = policy.apply(update)
                    for problem in problems + update.problems {
                        logger.warning("inbound policy: \(problem)")
                    }
                    let after = policy.current
                    if before != after {
                        logger.info(
                            "inbound policy",
                            metadata: ["default": "\(after.defaultPolicy.rawValue)", "from": "\(after.fromController ? "controller" : "config")"]
                        )
                    }
                }
            )
        }
        var sweeper: RepeatedTask?
        defer { sweeper?.cancel() }
        if config.transparent {
            let targets = TransparentTargets(
                listen: config.outbound, watcher: watcher, proxy: context, idleTimeout: config.destinationIdleTimeout
            )
            let sweep = TimeAmount.nanoseconds(Int64(targets.sweepInterval.components.seconds) * 1_000_000_000 + targets.sweepInterval.components.attoseconds / 1_000_000_000)
            sweeper = group.next().scheduleRepeatedTask(initialDelay: sweep, delay: sweep) { _ in targets.expireIdle() }
            services.append(
                .init(
                    service: listener("outbound (transparent)", config.outbound, setting: "LATTICE_PROXY_OUTBOUND_LISTEN_ADDR") { channel in
                        TransparentOutbound.accept(channel: channel, targets: targets, proxy: context)
                    }
                )
            )
        }
        services.append(.init(service: watcher))
        if config.releaseStartupPages {
            services.append(
                .init(service: StartupPageRelease(isReady: { credentials.isReady }, settle: .seconds(2), logger: logger))
            )
        }
        if config.idleReleaseAfter > .zero {
            let activity = context.activity
            services.append(
                .init(service: IdleMemoryRelease(activity: { activity.current }, idleAfter: config.idleReleaseAfter, logger: logger))
            )
        }
        if config.returnFreedMemory {
            services.append(
                .init(service: FreedMemoryReturn(openConnections: { budget.inUse }, interval: .seconds(2), logger: logger))
            )
        }
        services.append(.init(service: ShutdownWait(wait: config.outboundShutdownWait, logger: logger)))
        services.append(.init(service: inboundServer))
        services.append(.init(service: DrainSignal(draining: draining)))
        let serviceGroup = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        trigger.set(serviceGroup)
        try await serviceGroup.run()
        try await group.shutdownGracefully()
    }
}

/// Lets `/shutdown` start the group's graceful shutdown (for Jobs, whose app exits first).
final class ShutdownTrigger: Sendable {
    private let group = Mutex<ServiceGroup?>(nil)
    func set(_ group: ServiceGroup) { self.group.withLock { $0 = group } }
    func trigger() {
        guard let group = self.group.withLock({ $0 }) else { return }
        Task { await group.triggerGracefulShutdown() }
    }
}
