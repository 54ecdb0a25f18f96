import LatticeModel
import NIOCore

/// The transparent outbound listener (:4140): each connection's original destination (SO_ORIGINAL_DST) names the
/// target; destination says who is there. A destination never seen before waits (bounded) for the first answer, so
/// a meshed peer isn't dialled in plaintext just because the question was new.
enum TransparentOutbound {
    static func accept(channel: any Channel, targets: TransparentTargets, proxy: ProxyContext) {
        OriginalDestination.of(channel).whenComplete { result in
            guard case .success(let original?) = result else {
                self.refuse(channel, reason: "no_original_destination", proxy: proxy)
                return
            }
            // Dialled the listener itself (not redirected): nothing to forward to, and forwarding would loop.
            if original.port == proxy.config.outbound.port && (original.host == proxy.config.outbound.host || original.host.hasPrefix("127.")) {
                self.refuse(channel, reason: "loop", proxy: proxy)
                return
            }
            let target = targets.target(for: original)
            target.track(channel)
            // Answered or not, the connection proceeds: without an answer it goes out as the target's counted
            // `discovery_unavailable` plain endpoint.
            ProxyContext.poll(channel: channel, every: .milliseconds(5), for: proxy.config.discoveryTimeout, until: { target.hasAnswer }) { _ in
                OutboundPath.accept(channel: channel, target: target, proxy: proxy)
            }
        }
    }

    private static func refuse(_ channel: any Channel, reason: String, proxy: ProxyContext) {
        proxy.metrics.outboundFailed.cell(["reason": reason]).add(1)
        proxy.logger.info("outbound connection refused", metadata: ["reason": "\(reason)"])
        channel.close(promise: nil)
    }
}
