import LatticeModel
import NIOCore
import Synchronization

/// An upstream's endpoints for one HTTP version on one event loop, and the balancer that spreads requests across
/// them (least-loaded of two random choices).
final class HTTPUpstream: Sendable {
    let balancer: EndpointBalancer
    let clients: [EndpointHTTPClient]

    init(endpoints: [Endpoint], kind: HTTPKind, eventLoop: any EventLoop, proxy: ProxyContext) {
        self.balancer = EndpointBalancer(count: endpoints.count)
        self.clients = endpoints.map { EndpointHTTPClient(endpoint: $0, kind: kind, eventLoop: eventLoop, proxy: proxy) }
    }
}

/// The proxy's HTTP upstreams, made on first use and kept for the proxy's life (one per endpoint set, HTTP
/// version and event loop), so connections to an endpoint are pooled across client connections.
final class HTTPUpstreamRegistry: Sendable {
    private struct Key: Hashable {
        var endpoints: [Endpoint]
        var kind: HTTPKind
        var eventLoop: ObjectIdentifier
    }

    private let upstreams = Mutex<[Key: HTTPUpstream]>([:])

    /// Looked up once per client connection (a lock, never per request or byte).
    func upstream(endpoints: [Endpoint], kind: HTTPKind, eventLoop: any EventLoop, proxy: ProxyContext) -> HTTPUpstream {
        let key = Key(endpoints: endpoints, kind: kind, eventLoop: ObjectIdentifier(eventLoop))
        return self.upstreams.withLock { upstreams in
            if let upstream = upstreams[key] { return upstream }
            let upstream = HTTPUpstream(endpoints: endpoints, kind: kind, eventLoop: eventLoop, proxy: proxy)
            upstreams[key] = upstream
            return upstream
        }
    }
}
