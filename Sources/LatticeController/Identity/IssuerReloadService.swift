import FoundationEssentials
import LatticeIdentity
import LatticeObservability
import Logging
import ServiceLifecycle

/// Watches the issuer files and installs a new issuer when they change, with no restart and no failed request.
///
/// The files are polled (a Secret mounted by the kubelet changes by a symlink swap, which polling sees as reliably
/// as inotify). A new issuer that fails validation (expired, not yet valid, not signed by the anchors, mismatched
/// with its key, not P-256) is refused with a log line and a counter; the last good issuer stays in use and the
/// service stays ready. The serving certificate is renewed at 70 % of its lifetime.
public struct IssuerReloadService: Service {
    private let files: IssuerFiles
    private let store: IssuerStore
    private let signer: LeafSigner
    private let interval: Duration
    private let metrics: IdentityMetrics
    private let logger: Logger
    private let now: @Sendable () -> Date

    public init(
        files: IssuerFiles,
        store: IssuerStore,
        signer: LeafSigner,
        interval: Duration,
        metrics: IdentityMetrics,
        logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.files = files
        self.store = store
        self.signer = signer
        self.interval = interval
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }

    /// The state between polls.
    public struct Poller: Sendable {
        var lastSeen: [UInt8]?
        /// When the files last seen were refused: they are validated again after ``retryRefusedAfter``, since a
        /// refusal can be a matter of time (an issuer not yet valid on a node whose clock is behind).
        var refusedAt: Date?
        public init() {}
    }

    /// How long refused files wait before they are validated again, unchanged.
    public static let retryRefusedAfter: Double = 30

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var poller = Poller()
            while !Task.isCancelled {
                await self.poll(&poller)
                try await Task.sleep(for: self.interval)
            }
        }
    }

    /// Reads the files once; installs the issuer if they changed and validate.
    public func poll(_ poller: inout Poller) async {
        let now = self.now()
        let snapshot = self.files.snapshot()
        if let snapshot, snapshot == poller.lastSeen {
            let retryRefused = poller.refusedAt.map { now.timeIntervalSince($0) >= Self.retryRefusedAfter } ?? false
            if !retryRefused {
                self.renewServingIfDue(now: now)
                return
            }
        }
        poller.lastSeen = snapshot
        poller.refusedAt = nil
        do {
            let issuer = try await self.files.load(now: now)
            try self.store.install(issuer, signer: self.signer, now: now)
            self.metrics.countReload("ok")
            self.metrics.issuerExpiry.record(issuer.certificate.notValidAfter.timeIntervalSince1970)
            self.metrics.issuerReady.record(1)
            self.logger.info(
                "issuer loaded",
                metadata: [
                    "lattice.issuer.subject": "\(issuer.certificate.subject)",
                    "lattice.issuer.not_after": "\(issuer.certificate.notValidAfter.formatted(.iso8601))",
                ]
            )
        } catch let error as IdentityError {
            poller.refusedAt = now
            self.metrics.countReload(error.code.label)
            let keeping = self.store.issuer != nil
            self.logger.error(
                "issuer refused: \(error.reason)",
                metadata: [
                    "error.type": "\(error.code)",
                    "lattice.issuer.action": keeping ? "keeping the last good issuer" : "no issuer: not ready",
                ]
            )
            if !keeping { self.metrics.issuerReady.record(0) }
        } catch {
            poller.refusedAt = now
            self.metrics.countReload("other")
            self.logger.error("issuer refused: cannot make the serving certificate: \(error)")
        }
    }

    private func renewServingIfDue(now: Date) {
        guard let serving = self.store.serving else { return }
        let life = serving.leaf.notValidAfter.timeIntervalSince(serving.leaf.notValidBefore)
        let renewAt = serving.leaf.notValidBefore.addingTimeInterval(life * 0.7)
        guard now >= renewAt else { return }
        do {
            try self.store.renewServing(signer: self.signer, now: now)
            self.logger.info("controller serving certificate renewed")
        } catch {
            self.logger.error("cannot renew the controller serving certificate: \(error)")
        }
    }
}
