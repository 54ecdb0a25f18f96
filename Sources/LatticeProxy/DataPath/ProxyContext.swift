import LatticeModel
import Logging
import NIOCore
import Synchronization

/// What every connection of the proxy shares: its configuration, credentials, metrics and logger, and what the
/// controller's discovery streams keep current (inbound policy, and the version that tells HTTP connections to
/// re-read their routes).
struct ProxyContext: Sendable {
    let config: ProxyConfig
    let credentials: ProxyCredentials
    let metrics: ProxyMetrics
    let logger: Logger
    let httpUpstreams = HTTPUpstreamRegistry()
    let routesVersion: RoutesVersion
    let inboundPolicy: InboundPolicyState

    init(config: ProxyConfig, credentials: ProxyCredentials, metrics: ProxyMetrics, logger: Logger) {
        self.config = config
        self.credentials = credentials
        self.metrics = metrics
        self.logger = logger
        let version = RoutesVersion()
        self.routesVersion = version
        self.inboundPolicy = InboundPolicyState(config: config) { version.bump() }
    }
}

/// Moves on whenever a destination or policy answer changes; an HTTP connection compares it (one atomic load) at
/// each request and rebuilds its route when it moved.
final class RoutesVersion: Sendable {
    private let value = Atomic<Int>(0)
    var current: Int { self.value.load(ordering: .relaxed) }
    func bump() { self.value.wrappingAdd(1, ordering: .relaxed) }
}

extension ProxyContext {
    /// Where the app listens for an inbound connection: in transparent mode the pod's own address the connection
    /// arrived on (the proxy's UID is exempt from redirection, so this reaches the app), else the configured host.
    func appHost(_ channel: any Channel) -> String {
        guard self.config.transparent, let local = channel.localAddress?.ipAddress, local != "0.0.0.0", local != "::" else {
            return self.config.inboundAppHost
        }
        return local
    }

    /// Runs `body` once the proxy holds a certificate; until then the connection is parked unread, for at most the
    /// hold-until-ready timeout, then closed and counted.
    func whenReady(channel: any Channel, _ body: @escaping @Sendable () -> Void) {
        let deadline = NIODeadline.now() + .nanoseconds(self.config.readyTimeout.totalNanoseconds)
        Self.check(channel: channel, proxy: self, deadline: deadline, body)
    }

    private static func check(
        channel: any Channel,
        proxy: ProxyContext,
        deadline: NIODeadline,
        _ body: @escaping @Sendable () -> Void
    ) {
        if proxy.credentials.isReady {
            body()
        } else if NIODeadline.now() >= deadline || !channel.isActive {
            proxy.metrics.inboundRefused.cell(["reason": "not_ready"]).add(1)
            channel.close(promise: nil)
        } else {
            channel.eventLoop.scheduleTask(in: .milliseconds(20)) {
                Self.check(channel: channel, proxy: proxy, deadline: deadline, body)
            }
        }
    }
}
