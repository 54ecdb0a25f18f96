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
    let routesVersion: RelaxedCounter
    let inboundPolicy: InboundPolicyState
    /// Connections accepted and HTTP requests seen: how ``IdleMemoryRelease`` tells idle from busy.
    let activity = RelaxedCounter()

    init(config: ProxyConfig, credentials: ProxyCredentials, metrics: ProxyMetrics, logger: Logger) {
        self.config = config
        self.credentials = credentials
        self.metrics = metrics
        self.logger = logger
        let version = RelaxedCounter()
        self.routesVersion = version
        self.inboundPolicy = InboundPolicyState(config: config) { version.bump() }
    }
}

/// A counter bumped and read with relaxed atomics, one instruction each, never a lock: the routes' version (moves on
/// whenever a destination or policy answer changes; an HTTP connection compares it at each request and rebuilds its
/// route when it moved) and the proxy's activity (connections accepted plus requests, for ``IdleMemoryRelease``).
final class RelaxedCounter: Sendable {
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
        let credentials = self.credentials
        let refused = self.metrics.inboundRefused
        Self.poll(channel: channel, every: .milliseconds(20), for: self.config.readyTimeout, until: { credentials.isReady }) { ready in
            if ready {
                body()
            } else {
                refused.cell(["reason": "not_ready"]).add(1)
                channel.close(promise: nil)
            }
        }
    }

    /// Checks `condition` on the channel's event loop every `interval` until it holds, `timeout` passes or the channel
    /// closes; then calls `then` (with whether it held). The connection stays parked unread meanwhile.
    static func poll(
        channel: any Channel,
        every interval: TimeAmount,
        for timeout: Duration,
        until condition: @escaping @Sendable () -> Bool,
        then: @escaping @Sendable (Bool) -> Void
    ) {
        let deadline = NIODeadline.now() + .nanoseconds(timeout.totalNanoseconds)
        @Sendable func check() {
            if condition() {
                then(true)
            } else if NIODeadline.now() >= deadline || !channel.isActive {
                then(false)
            } else {
                channel.eventLoop.scheduleTask(in: interval) { check() }
            }
        }
        check()
    }
}
