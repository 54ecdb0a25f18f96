/// What the request handlers of one client connection share: where requests go, what they report into, and (inbound)
/// the policy each request passes.
struct HTTPRoute: Sendable {
    let direction: ConnectionLabels.Direction
    let kind: HTTPKind
    let upstream: HTTPUpstream
    /// Per endpoint of the upstream (outbound requests are labelled with the server they went to); inbound, one.
    let metrics: [HTTPRouteMetrics]
    /// Inbound only.
    let authorizer: InboundHTTPAuthorizer?
    /// Inbound from a meshed client: its verified identity, passed to the app as `l5d-client-id` (any such header
    /// the client sent is removed, so the app can trust it).
    let clientIdentity: String?
    let proxy: ProxyContext

    func countError(_ reason: String) {
        self.proxy.metrics.httpErrors.cell(["direction": self.direction.rawValue, "reason": reason]).add(1)
    }
}

/// A connection's current route: rebuilt from discovery and policy when the routes' version
/// (``ProxyContext/routesVersion``) has moved, checked with one atomic load per request. Used only on the
/// connection's event loop (its HTTP/2 streams share it), hence unchecked.
final class RouteSource: @unchecked Sendable {
    private var route: HTTPRoute
    private var version: Int
    private let versions: RelaxedCounter
    private let build: () -> HTTPRoute

    init(version: RelaxedCounter, build: @escaping () -> HTTPRoute) {
        self.versions = version
        self.version = version.current
        self.route = build()
        self.build = build
    }

    func current() -> HTTPRoute {
        self.refresh()
        return self.route
    }

    /// The route and its version, for a holder that then asks ``changed(since:)``.
    func currentWithVersion() -> (route: HTTPRoute, version: Int) {
        self.refresh()
        return (self.route, self.version)
    }

    /// The current route if it is newer than the holder's `seen` version, which then moves to it; nil while the
    /// holder's copy is current, so a request pays an atomic load rather than a copy of the route (a retain and a
    /// release per reference in it).
    func changed(since seen: inout Int) -> HTTPRoute? {
        self.refresh()
        guard seen != self.version else { return nil }
        seen = self.version
        return self.route
    }

    private func refresh() {
        let now = self.versions.current
        if now != self.version {
            self.version = now
            self.route = self.build()
        }
    }
}
