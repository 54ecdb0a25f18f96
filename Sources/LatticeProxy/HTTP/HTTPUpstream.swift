import LatticeModel
import NIOCore
import Synchronization

/// An upstream's endpoints for one HTTP version on one event loop, and the balancer that spreads requests across
/// them (least-loaded of two random choices).
final class HTTPUpstream: Sendable {
    let balancer: EndpointBalancer
    let clients: [EndpointHTTPClient]

    init(clients: [EndpointHTTPClient]) {
        self.balancer = EndpointBalancer(count: clients.count)
        self.clients = clients
    }
}

/// The proxy's HTTP upstreams (one per endpoint set, HTTP version and event loop) and their per-endpoint clients,
/// made on first use. Clients are shared by endpoint, so when discovery changes an upstream's endpoint set, the
/// endpoints that stayed keep their pooled connections (no reconnection storm on every update).
///
/// Endpoint sets come and go with discovery: past ``maxUpstreams`` the cache starts over, and clients no longer used
/// by any cached set have their idle connections closed (connections in use finish normally).
final class HTTPUpstreamRegistry: Sendable {
    private struct Key: Hashable {
        var endpoints: [Endpoint]
        var kind: HTTPKind
        var eventLoop: ObjectIdentifier
    }

    private struct ClientKey: Hashable {
        var endpoint: Endpoint
        var kind: HTTPKind
        var eventLoop: ObjectIdentifier
    }

    private struct State {
        var upstreams: [Key: HTTPUpstream] = [:]
        var clients: [ClientKey: EndpointHTTPClient] = [:]
    }

    static let maxUpstreams = 256
    private let state = Mutex(State())

    /// Looked up once per client connection, and again when its route changes (a lock, never per request or byte).
    func upstream(endpoints: [Endpoint], kind: HTTPKind, eventLoop: any EventLoop, proxy: ProxyContext) -> HTTPUpstream {
        let loop = ObjectIdentifier(eventLoop)
        let key = Key(endpoints: endpoints, kind: kind, eventLoop: loop)
        var retired: [EndpointHTTPClient] = []
        let upstream = self.state.withLock { state -> HTTPUpstream in
            if let upstream = state.upstreams[key] { return upstream }
            let clients = endpoints.map { endpoint -> EndpointHTTPClient in
                let clientKey = ClientKey(endpoint: endpoint, kind: kind, eventLoop: loop)
                if let client = state.clients[clientKey] { return client }
                let client = EndpointHTTPClient(endpoint: endpoint, kind: kind, eventLoop: eventLoop, proxy: proxy)
                state.clients[clientKey] = client
                return client
            }
            if state.upstreams.count >= Self.maxUpstreams {
                state.upstreams.removeAll(keepingCapacity: true)
                let kept = Set(endpoints.map { ClientKey(endpoint: $0, kind: kind, eventLoop: loop) })
                for (clientKey, client) in state.clients where !kept.contains(clientKey) {
                    retired.append(client)
                    state.clients[clientKey] = nil
                }
            }
            let upstream = HTTPUpstream(clients: clients)
            state.upstreams[key] = upstream
            return upstream
        }
        for client in retired {
            client.eventLoop.execute { client.closeIdle() }
        }
        return upstream
    }
}
