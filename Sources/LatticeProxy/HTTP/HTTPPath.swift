import LatticeModel
import LatticePolicy
import NIOCore

/// Hands a detected HTTP connection (inbound or outbound) to per-request proxying: counts the connection, puts the
/// server codec and request handlers in place behind the "pending" handler, then releases what it held.
enum HTTPPath {
    /// `channel` has a ``PendingDataHandler`` named "pending" holding what was read so far.
    static func serve(channel: any Channel, routes: RouteSource, connection labels: ConnectionLabels) {
        let route = routes.current()
        let metrics = route.proxy.metrics.connection(labels)
        metrics.opened()
        do {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(ConnectionByteCounter(metrics: metrics, clientIsPeer: route.direction == .inbound))
            try HTTPServerSide.configure(channel: channel, routes: routes)
            // Reading on before the held bytes are released: HTTP/2 streams opened by them take the connection's
            // autoRead as their own.
            try channel.syncOptions?.setOption(.autoRead, value: true)
            let pending = try sync.context(name: "pending")
            sync.removeHandler(context: pending, promise: nil)
        } catch {
            metrics.closed()
            channel.close(promise: nil)
        }
    }

    /// The route of an inbound HTTP connection to the app's `port`.
    static func inboundRoute(
        kind: HTTPKind,
        port: Int,
        peer: PeerAuthentication,
        labels: ConnectionLabels,
        channel: any Channel,
        proxy: ProxyContext
    ) -> HTTPRoute {
        let source = channel.remoteAddress?.ipAddress.flatMap { IPAddress($0) }
        let decision = proxy.inboundPolicy.policy(port: port).decide(peer: peer, source: source)
        let clientIdentity: String?
        if case .meshTLS(let identity) = peer { clientIdentity = identity } else { clientIdentity = nil }
        let authorizer = InboundHTTPAuthorizer(
            decision: decision,
            port: port,
            peer: peer,
            source: source,
            labels: [
                "direction": "inbound", "tls": labels.tls, "client_id": labels.clientID,
                "target_addr": labels.targetAddress, "srv_name": "default:\(decision.policy.rawValue)",
            ],
            config: proxy.config,
            probes: proxy.inboundPolicy.probes,
            metrics: proxy.metrics,
            logger: proxy.logger
        )
        let app = Endpoint.plain(HostPort(host: proxy.appHost(channel), port: port))
        return HTTPRoute(
            direction: .inbound,
            kind: kind,
            upstream: proxy.httpUpstreams.upstream(endpoints: [app], kind: kind, eventLoop: channel.eventLoop, proxy: proxy),
            metrics: [HTTPRouteMetrics(labels: labels, authority: "", metrics: proxy.metrics)],
            authorizer: authorizer,
            clientIdentity: clientIdentity,
            proxy: proxy
        )
    }

    /// The route of an outbound HTTP connection to `upstream`, with one set of series per endpoint.
    static func outboundRoute(kind: HTTPKind, upstream: Upstream, channel: any Channel, proxy: ProxyContext) -> HTTPRoute {
        var metrics = upstream.endpoints.map { endpoint in
            HTTPRouteMetrics(
                labels: OutboundPath.labels(endpoint, plainReason: upstream.plainReason),
                authority: upstream.authority,
                metrics: proxy.metrics
            )
        }
        if metrics.isEmpty {
            // No endpoint: requests are answered 503 and counted against the service.
            let labels = ConnectionLabels(
                direction: .outbound, tls: "no_identity", noTLSReason: "no_endpoints", targetAddress: upstream.authority
            )
            metrics = [HTTPRouteMetrics(labels: labels, authority: upstream.authority, metrics: proxy.metrics)]
        }
        return HTTPRoute(
            direction: .outbound,
            kind: kind,
            upstream: proxy.httpUpstreams.upstream(
                endpoints: upstream.endpoints, kind: kind, eventLoop: channel.eventLoop, proxy: proxy
            ),
            metrics: metrics,
            authorizer: nil,
            clientIdentity: nil,
            proxy: proxy
        )
    }
}
