import LatticeDiscovery
import LatticeKube
import Logging
import Synchronization

/// The Kubernetes backend of the discovery store: lists and watches Pods, Services, EndpointSlices and Namespaces in
/// all namespaces, keeps them in a ``KubernetesMeshState`` and publishes its ``MeshSnapshot`` after each change.
///
/// Each collection runs its own loop: list, then watch from the list's resourceVersion (with bookmarks), and watch
/// again from the last resourceVersion seen whenever the server ends a watch. A watch failing with 410 Gone relists
/// at once; any other failure relists after a backoff that doubles up to ``Configuration/maximumBackoff`` (or the
/// server's `Retry-After`, when longer). Every ``Configuration/resyncInterval`` a collection is listed again anyway,
/// which drops objects whose deletion a watch missed.
///
/// Nothing is published before every collection has been listed once (``hasSynced``): a partial snapshot would
/// answer "not meshed" for workloads that are. Bursts of changes are coalesced: at most one snapshot per
/// ``Configuration/publishInterval``, and only when it differs from the last one published.
public final class KubernetesDiscoveryBackend: Sendable {
    /// Timing of the list and watch loops.
    public struct Configuration: Sendable, Hashable {
        /// How often each collection is listed again even when its watch is healthy.
        public var resyncInterval: Duration
        /// How long the server keeps one watch open (`timeoutSeconds`); shortened to end at the next resync.
        public var watchTimeout: Duration
        /// The least time between two published snapshots.
        public var publishInterval: Duration
        /// The wait before relisting after the first failure; it doubles with each further one.
        public var initialBackoff: Duration
        /// The longest wait between two attempts.
        public var maximumBackoff: Duration

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - resyncInterval: How often each collection is listed again; 5 minutes by default.
        ///   - watchTimeout: The server-side timeout of one watch; 5 minutes by default.
        ///   - publishInterval: The least time between two snapshots; 100 ms by default.
        ///   - initialBackoff: The first wait after a failure; 500 ms by default.
        ///   - maximumBackoff: The cap of the wait; 30 s by default.
        public init(
            resyncInterval: Duration = .seconds(5 * 60),
            watchTimeout: Duration = .seconds(5 * 60),
            publishInterval: Duration = .milliseconds(100),
            initialBackoff: Duration = .milliseconds(500),
            maximumBackoff: Duration = .seconds(30)
        ) {
            self.resyncInterval = resyncInterval
            self.watchTimeout = watchTimeout
            self.publishInterval = publishInterval
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
        }
    }

    /// The collections' API paths (all namespaces).
    public static let podsPath = "/api/v1/pods"
    public static let servicesPath = "/api/v1/services"
    public static let endpointSlicesPath = "/apis/discovery.k8s.io/v1/endpointslices"
    public static let namespacesPath = "/api/v1/namespaces"

    /// A watch that ends normally sooner than this (or half its timeout) without an event is treated like a failure:
    /// a misbehaving server or proxy must not make the loop spin.
    static let shortestHealthyWatch: Duration = .seconds(1)

    private let api: any KubernetesAPI
    private let configuration: Configuration
    private let clock: any Clock<Duration>
    private let logger: Logger
    private let publish: @Sendable (MeshSnapshot) -> Void
    private let state = Mutex(KubernetesMeshState())

    /// Creates a backend; nothing happens until ``run()``.
    ///
    /// - Parameters:
    ///   - api: The API server (a ``KubernetesClient``), which needs `list` and `watch` on the four collections.
    ///   - configuration: Resync, watch, publish and backoff timing.
    ///   - clock: The clock timing resyncs, backoffs and coalescing; injectable for tests.
    ///   - logger: Where the loops report (debug and trace only).
    ///   - publish: Called with each new snapshot (typically ``DiscoveryStore/publish(_:)``), from the backend's
    ///     publishing task, never concurrently with itself; it must not block.
    public init(
        api: any KubernetesAPI,
        configuration: Configuration = Configuration(),
        clock: any Clock<Duration> = ContinuousClock(),
        logger: Logger = Logger(label: "lattice.discovery.kube", factory: { _ in SwiftLogNoOpLogHandler() }),
        publish: @escaping @Sendable (MeshSnapshot) -> Void
    ) {
        self.api = api
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.publish = publish
    }

    /// Whether every collection has been listed once; until then nothing is published (a readiness check).
    public var hasSynced: Bool {
        self.state.withLock { $0.hasSynced }
    }

    /// The current state of the collections (for diagnostics and tests).
    public var currentState: KubernetesMeshState {
        self.state.withLock { $0 }
    }

    /// Lists and watches until the task is cancelled, publishing snapshots as the cluster changes.
    ///
    /// API failures are retried forever (they are logged at debug level); the method returns when cancelled.
    public func run() async throws {
        let (signals, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let changed: @Sendable () -> Void = { continuation.yield() }
        defer { continuation.finish() }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await self.runCollection(Pod.self, path: Self.podsPath, clock: self.clock, changed: changed)
                }
                group.addTask {
                    try await self.runCollection(
                        KubernetesService.self,
                        path: Self.servicesPath,
                        clock: self.clock,
                        changed: changed
                    )
                }
                group.addTask {
                    try await self.runCollection(
                        EndpointSlice.self,
                        path: Self.endpointSlicesPath,
                        clock: self.clock,
                        changed: changed
                    )
                }
                group.addTask {
                    try await self.runCollection(
                        Namespace.self,
                        path: Self.namespacesPath,
                        clock: self.clock,
                        changed: changed
                    )
                }
                group.addTask {
                    try await self.runPublisher(signals: signals, clock: self.clock)
                }
                // The loops end only when cancelled (or by throwing); one ending ends them all.
                try await group.next()
                group.cancelAll()
            }
        } catch is CancellationError {
            return
        }
        try Task.checkCancellation()
    }

    /// Publishes the state's snapshot after each change, at most once per publish interval.
    private func runPublisher<C: Clock<Duration>>(signals: AsyncStream<Void>, clock: C) async throws {
        var last: MeshSnapshot?
        for await _ in signals {
            // Copy the state out (copy-on-write: cheap) and build the snapshot without holding the lock.
            let state = self.state.withLock { $0 }
            guard state.hasSynced else { continue }
            let snapshot = state.snapshot()
            if snapshot != last {
                self.logger.trace(
                    "publishing a snapshot",
                    metadata: [
                        "lattice.discovery.workloads": "\(snapshot.workloads.count)",
                        "lattice.discovery.services": "\(snapshot.services.count)",
                    ]
                )
                self.publish(snapshot)
                last = snapshot
            }
            try await clock.sleep(for: self.configuration.publishInterval)
        }
        throw CancellationError()
    }

    /// The list and watch loop of one collection.
    private func runCollection<Object: MeshStateObject, C: Clock<Duration>>(
        _ type: Object.Type,
        path: String,
        clock: C,
        changed: @Sendable () -> Void
    ) async throws {
        var logger = self.logger
        logger[metadataKey: "lattice.kube.resource"] = "\(path)"
        var needsList = true
        var failures = 0
        var listedAt = clock.now
        // Whether a watch has delivered anything (an event or a bookmark) since the last list.
        var hasDeliveredSinceList = false
        while true {
            try Task.checkCancellation()
            var listing = needsList
            do {
                if needsList {
                    let list = try await self.api.list(path, of: Object.self)
                    self.state.withLock { _ = $0.replace(with: list) }
                    listedAt = clock.now
                    hasDeliveredSinceList = false
                    needsList = false
                    listing = false
                    logger.debug(
                        "listed",
                        metadata: [
                            "lattice.kube.items": "\(list.items.count)",
                            "lattice.kube.resource_version": "\(list.metadata.resourceVersion ?? "")",
                        ]
                    )
                    // Always: the first list of the last collection is what makes the state publishable.
                    changed()
                }
                let remaining = self.configuration.resyncInterval - listedAt.duration(to: clock.now)
                guard remaining > .zero else {
                    logger.debug("resyncing")
                    needsList = true
                    continue
                }
                let resourceVersion = self.state.withLock { $0.resourceVersion(of: Object.self) }
                let timeout = min(self.configuration.watchTimeout, remaining)
                let options = WatchOptions(timeout: timeout, allowsBookmarks: true)
                let startedAt = clock.now
                var events = 0
                for try await event in self.api.watch(path, as: Object.self, resourceVersion: resourceVersion, options: options) {
                    // Failures are forgotten only once a watch delivers: a list that succeeds while every watch fails
                    // must not reset the backoff.
                    events += 1
                    failures = 0
                    hasDeliveredSinceList = true
                    if self.state.withLock({ $0.apply(event) }) { changed() }
                }
                let elapsed = startedAt.duration(to: clock.now)
                if events == 0 && elapsed < min(Self.shortestHealthyWatch, timeout / 2) {
                    logger.trace("the watch ended at once; waiting before the next one")
                    try await clock.sleep(for: self.backoff(after: failures))
                    failures += 1
                } else {
                    failures = 0
                }
            } catch let error as KubernetesError where error.code == .gone && !listing {
                logger.debug("the resourceVersion is too old; relisting", metadata: ["error.message": "\(error)"])
                needsList = true
                if !hasDeliveredSinceList {
                    // Gone before anything was delivered since the list: relisting at once could spin.
                    try await clock.sleep(for: self.backoff(after: failures))
                    failures += 1
                }
            } catch {
                if Task.isCancelled || error is CancellationError { throw CancellationError() }
                let retryAfter = (error as? KubernetesError)?.retryAfter ?? .zero
                let delay = max(self.backoff(after: failures), min(retryAfter, self.configuration.maximumBackoff))
                failures += 1
                logger.debug(
                    "\(listing ? "list" : "watch") failed; relisting after a backoff",
                    metadata: [
                        "error.type": "\((error as? KubernetesError)?.code.description ?? String(describing: Swift.type(of: error)))",
                        "error.message": "\(error)",
                        "lattice.kube.backoff": "\(delay)",
                    ]
                )
                try await clock.sleep(for: delay)
                needsList = true
            }
        }
    }

    /// The wait after `failures` earlier consecutive failures: the initial backoff doubled each time, capped.
    private func backoff(after failures: Int) -> Duration {
        var delay = self.configuration.initialBackoff
        for _ in 0..<min(failures, 32) where delay < self.configuration.maximumBackoff {
            delay *= 2
        }
        return min(delay, self.configuration.maximumBackoff)
    }
}
