import LatticeModel
import NIOCore
import Synchronization

/// The destinations a transparent proxy's app has dialled, each resolved through destination on first use and kept
/// current afterwards (one stream each, on the shared controller connection).
///
/// A destination nobody has dialled for the idle timeout and with no connection open stops being watched, so a pod
/// talking to churning peers (Spark executors, Job pods) doesn't hold a stream for every address it ever saw; dialled
/// again, it is asked about afresh (the first connection waits for the answer as a new one does).
final class TransparentTargets: Sendable {
    /// Distinct destinations watched at most; past it, new ones are forwarded without waiting for discovery
    /// (counted `no_tls_reason="discovery_unavailable"`), so a scanning app can't grow the proxy without bound.
    static let limit = 10_000

    private struct Entry {
        let target: OutboundTarget
        let watch: ControlPlaneWatcher.WatchID
        var lastUsed: ContinuousClock.Instant
    }

    private let targets = Mutex<[HostPort: Entry]>([:])
    private let listen: HostPort
    private let watcher: ControlPlaneWatcher
    private let proxy: ProxyContext
    private let idleTimeout: Duration

    init(listen: HostPort, watcher: ControlPlaneWatcher, proxy: ProxyContext, idleTimeout: Duration) {
        self.listen = listen
        self.watcher = watcher
        self.proxy = proxy
        self.idleTimeout = idleTimeout
    }

    /// How often ``expireIdle(now:)`` should run: often enough that an idle destination goes within 1.25× the timeout.
    var sweepInterval: Duration { max(.seconds(1), self.idleTimeout / 4) }


    /// The target for `destination`, watched from now on if it is new.
    func target(for destination: HostPort, now: ContinuousClock.Instant = .now) -> OutboundTarget {
        let (existing, count) = self.targets.withLock { targets -> (OutboundTarget?, Int) in
            guard let index = targets.index(forKey: destination) else { return (nil, targets.count) }
            targets.values[index].lastUsed = now
            return (targets.values[index].target, targets.count)
        }
        if let existing { return existing }
        let version = self.proxy.routesVersion
        let target = OutboundTarget(listen: self.listen, target: destination) { version.bump() }
        guard count < Self.limit else { return target }
        let logger = self.proxy.logger
        // Added to the watcher outside the lock (it may open the stream at once); a racing dial of the same new
        // destination keeps whichever entry landed first and drops its own watch.
        let watch = self.watcher.add(
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
        let (winner, watched) = self.targets.withLock { targets -> (OutboundTarget?, Int) in
            if let entry = targets[destination] { return (entry.target, targets.count) }
            targets[destination] = Entry(target: target, watch: watch, lastUsed: now)
            return (nil, targets.count)
        }
        if let winner {
            self.watcher.remove([watch])
            return winner
        }
        self.proxy.metrics.discoveryDestinations.set(Int64(watched))
        return target
    }

    /// Stops watching the destinations idle for longer than the timeout with no connection open; returns how many.
    @discardableResult
    func expireIdle(now: ContinuousClock.Instant = .now) -> Int {
        let (expired, count) = self.targets.withLock { targets -> ([(HostPort, ControlPlaneWatcher.WatchID)], Int) in
            let idle = targets.filter { now - $0.value.lastUsed > self.idleTimeout && $0.value.target.openConnections == 0 }
            for (destination, _) in idle { targets[destination] = nil }
            return (idle.map { ($0.key, $0.value.watch) }, targets.count)
        }
        guard !expired.isEmpty else { return 0 }
        self.watcher.remove(expired.map(\.1))
        self.proxy.metrics.discoveryDestinations.set(Int64(count))
        self.proxy.logger.debug("idle destinations no longer watched", metadata: ["count": "\(expired.count)", "left": "\(count)"])
        return expired.count
    }
}
