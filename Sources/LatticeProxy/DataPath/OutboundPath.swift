import LatticeModel
import LatticeProxyCore
import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// The outbound path of one app connection to a local-mode upstream.
///
/// Unless every endpoint's app port is opaque, the first bytes are looked at: HTTP/1 and HTTP/2 are proxied per
/// request (``HTTPPath``), everything else is spliced per connection to one endpoint. Meshed endpoints are reached
/// with mTLS 1.3 demanding their identity and a transport header naming the app port; plain ones directly, counted as
/// `tls="no_identity"` and never silent.
enum OutboundPath {
    /// Called when an outbound listener accepts `channel` (autoRead off): the target's current answer decides.
    static func accept(channel: any Channel, target: OutboundTarget, proxy: ProxyContext) {
        let resolved = target.current
        let upstream = resolved.upstream
        guard let balancer = resolved.balancer else {
            proxy.metrics.outboundFailed.cell(["reason": "no_endpoints"]).add(1)
            proxy.logger.info("no endpoints behind the target; closing", metadata: ["target": "\(upstream.authority)"])
            channel.close(promise: nil)
            return
        }
        let opaque = upstream.opaqueHint ?? upstream.endpoints.allSatisfy { proxy.config.opaquePorts.contains($0.appPort) }
        do {
            if opaque {
                try channel.pipeline.syncOperations.addHandler(PendingDataHandler(), name: "pending")
                self.splice(channel: channel, upstream: upstream, balancer: balancer, proxy: proxy)
                return
            }
            let timeout = TimeAmount.nanoseconds(proxy.config.detectTimeout.totalNanoseconds)
            try channel.pipeline.syncOperations.addHandler(
                DetectionHandler(timeout: timeout) { detected, buffered, context in
                    self.route(
                        detected, buffered: buffered, channel: context.channel, target: target, upstream: upstream,
                        balancer: balancer, proxy: proxy
                    )
                }
            )
        } catch {
            channel.close(promise: nil)
        }
    }

    static func route(
        _ detected: DetectedProtocol,
        buffered: ByteBuffer,
        channel: any Channel,
        target: OutboundTarget,
        upstream: Upstream,
        balancer: EndpointBalancer,
        proxy: ProxyContext
    ) {
        do {
            try channel.pipeline.syncOperations.addHandler(PendingDataHandler(initial: buffered), name: "pending")
        } catch {
            channel.close(promise: nil)
            return
        }
        let kind: HTTPKind
        switch detected {
        case .http1: kind = .http1
        case .http2: kind = .http2
        case .tls, .opaque:
            self.splice(channel: channel, upstream: upstream, balancer: balancer, proxy: proxy)
            return
        }
        let serve: @Sendable () -> Void = {
            let routes = RouteSource(version: proxy.routesVersion) {
                HTTPPath.outboundRoute(kind: kind, upstream: target.current.upstream, channel: channel, proxy: proxy)
            }
            HTTPPath.serve(channel: channel, routes: routes, connection: self.connectionLabels(upstream))
        }
        if upstream.isMeshed {
            proxy.whenReady(channel: channel, serve)
        } else {
            serve()
        }
    }

    /// Opaque TCP: one endpoint per connection (least loaded of two), spliced.
    static func splice(channel: any Channel, upstream: Upstream, balancer: EndpointBalancer, proxy: ProxyContext) {
        let index = balancer.pick()
        let endpoint = upstream.endpoints[index]
        balancer.begin(index)
        channel.closeFuture.whenComplete { _ in balancer.end(index) }
        let labels = self.labels(endpoint, plainReason: upstream.plainReason)
        let start: @Sendable () -> Void = {
            let metrics = proxy.metrics.connection(labels)
            metrics.opened()
            UpstreamConnector.connect(endpoint, hint: .opaque, on: channel.eventLoop, proxy: proxy).whenComplete { result in
                self.finish(result, channel: channel, metrics: metrics, proxy: proxy)
            }
        }
        switch endpoint {
        case .plain(let target):
            if upstream.plainReason == "discovery_unavailable" {
                proxy.logger.info("forwarding without mTLS: no discovery answer yet", metadata: ["target": "\(target)"])
            } else {
                proxy.logger.debug("forwarding without mTLS: the target is not meshed", metadata: ["target": "\(target)"])
            }
            start()
        case .meshed:
            proxy.whenReady(channel: channel, start)
        }
    }

    /// The `tcp_*` labels of a connection to `endpoint`.
    static func labels(_ endpoint: Endpoint, plainReason: String = "not_provided_by_service_discovery") -> ConnectionLabels {
        switch endpoint {
        case .plain(let target):
            ConnectionLabels(
                direction: .outbound,
                tls: "no_identity",
                noTLSReason: plainReason,
                targetAddress: target.description
            )
        case .meshed(let identity, let peerProxy, _):
            ConnectionLabels(direction: .outbound, tls: "true", serverID: identity, targetAddress: peerProxy.description)
        }
    }

    /// The labels of a client connection whose requests may go to several endpoints: the server identity when they
    /// share one (a Service's pods usually do), the upstream's name as the target.
    static func connectionLabels(_ upstream: Upstream) -> ConnectionLabels {
        var labels = self.labels(upstream.endpoints[0], plainReason: upstream.plainReason)
        guard upstream.endpoints.count > 1 else { return labels }
        let identities = Set(upstream.endpoints.map { endpoint -> String in
            if case .meshed(let identity, _, _) = endpoint { return identity }
            return ""
        })
        if identities.count > 1 { labels.serverID = "" }
        labels.targetAddress = upstream.authority.isEmpty ? upstream.listen.description : upstream.authority
        return labels
    }

    static func finish(
        _ result: Result<any Channel, any Error>,
        channel: any Channel,
        metrics: ConnectionMetrics,
        proxy: ProxyContext
    ) {
        switch result {
        case .success(let upstream):
            Splice.joinOrClose(downstream: channel, upstream: upstream, metrics: metrics, peerIsUpstream: true)
        case .failure(let error):
            metrics.closed()
            proxy.metrics.outboundFailed.cell(["reason": OutboundFailure.classify(error)]).add(1)
            proxy.logger.info("outbound connection failed", metadata: ["error.type": "\(error)"])
            channel.close(promise: nil)
        }
    }
}

/// Closed set of outbound failure reasons, for `lattice_outbound_connections_failed_total{reason}`.
enum OutboundFailure {
    static func classify(_ error: any Error) -> String {
        switch error {
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError: return "tls_handshake_failed"
        case is ChannelError, is NIOConnectionError, is IOError: return "connect_failed"
        case is RotationError: return "no_certificate"
        default: return "error"
        }
    }
}
