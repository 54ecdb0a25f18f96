import LatticeModel
import Logging
import NIOCore

/// What every connection of the proxy shares: its configuration, credentials, metrics and logger.
struct ProxyContext: Sendable {
    let config: ProxyConfig
    let credentials: ProxyCredentials
    let metrics: ProxyMetrics
    let logger: Logger
    let httpUpstreams = HTTPUpstreamRegistry()
}

extension ProxyContext {
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
