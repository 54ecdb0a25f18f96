import LatticeModel
import NIOCore
import Synchronization

/// The destinations a transparent proxy's app has dialled, each resolved through destination on first use and kept
/// current afterwards (one stream each, on the shared controller connection).
final class TransparentTargets: Sendable {
    /// Distinct destinations watched at most; past it, new ones are forwarded without waiting for discovery
    /// (counted `no_tls_reason="discovery_unavailable"`), so a scanning app can't grow the proxy without bound.
    static let limit = 10_000

    private let targets = Mutex<[HostPort: OutboundTarget]>([:])
    private let listen: HostPort
    private let watcher: ControlPlaneWatcher
    private let proxy: ProxyContext

    init(listen: HostPort, watcher: ControlPlaneWatcher, proxy: ProxyContext) {
        self.listen = listen
        self.watcher = watcher
        self.proxy = proxy
    }

    /// The target for `destination`, watched from now on if it is new.
    func target(for destination: HostPort) -> OutboundTarget {
        let version = self.proxy.routesVersion
        let (target, isNew) = self.targets.withLock { targets -> (OutboundTarget, Bool) in
            if let target = targets[destination] { return (target, false) }
            let target = OutboundTarget(listen: self.listen, target: destination) { version.bump() }
            guard targets.count < Self.limit else { return (target, false) }
            targets[destination] = target
            return (target, true)
        }
        if isNew {
            let logger = self.proxy.logger
            self.watcher.add(
                .init(
                    name: "destination \(destination)",
                    path: "/lattice.destination.v1.Destination/Get",
                    request: DiscoveryAPI.getDestination(target: destination.description, proxyIdentity: self.proxy.config.identity.name)
                ) { message in
                    if let update = try DestinationUpdate.decode(message), target.apply(update) {
                        logger.debug("destination answer", metadata: ["target": "\(destination)", "endpoints": "\(target.current.upstream.endpoints)"])
                    }
                }
            )
        }
        return target
    }
}
