import LatticeInjector
import Logging
import Metrics

/// What the injector decided for one Pod.
public struct PodMutation: Sendable, Hashable {
    /// RFC 6902 JSON Patch bytes, or nil when the Pod is left as it is.
    public var patch: [UInt8]?
    public var injected: Bool
    /// The report: what was done, or why it was skipped.
    public var message: String
    /// Shown to the user (kubectl prints admission warnings): skips they would want to know about.
    public var warning: String?

    public init(patch: [UInt8]?, injected: Bool, message: String, warning: String? = nil) {
        self.patch = patch
        self.injected = injected
        self.message = message
        self.warning = warning
    }
}

/// Decides the mutation of a Pod (as the review carried it, and its namespace's name); throws a reason when the Pod
/// can't be read.
public protocol PodMutator: Sendable {
    func mutate(pod: JSONValue, namespace: String) throws -> PodMutation
}

/// Turns an AdmissionReview body into its answer: decode, ask the mutator, encode. Never throws: every failure is an
/// answer that names it.
public struct AdmissionResponder: Sendable {
    public struct Answer: Sendable {
        /// 200 for every review that could be read; 400 when the body is not one.
        public var httpStatus: Int
        public var body: [UInt8]
    }

    private let mutator: any PodMutator
    private let metrics: WebhookMetrics
    private let logger: Logger

    public init(mutator: any PodMutator, metrics: WebhookMetrics, logger: Logger) {
        self.mutator = mutator
        self.metrics = metrics
        self.logger = logger
    }

    public func answer(_ body: [UInt8]) -> Answer {
        let started = ContinuousClock.now
        defer { self.metrics.duration.recordNanoseconds(Self.nanoseconds(since: started)) }
        let request: AdmissionRequest
        do {
            request = try AdmissionReviewCodec.decode(body)
        } catch {
            self.metrics.malformed.increment()
            self.logger.warning("malformed AdmissionReview", metadata: ["error.message": "\(error.reason)"])
            return Answer(httpStatus: error.uid.isEmpty ? 400 : 200, body: AdmissionReviewCodec.failed(error))
        }
        guard request.isPodCreation else {
            // The webhook configuration sends only Pod CREATE; anything else passes untouched.
            self.metrics.skipped.increment()
            return Answer(httpStatus: 200, body: AdmissionReviewCodec.allowed(uid: request.uid, patch: nil))
        }
        var logger = self.logger
        logger[metadataKey: "k8s.namespace.name"] = "\(request.namespace)"
        logger[metadataKey: "k8s.pod.name"] = "\(request.objectName)"
        do {
            let mutation = try self.mutator.mutate(pod: request.object, namespace: request.namespace)
            if mutation.injected {
                self.metrics.injected.increment()
                logger.info("injected", metadata: ["lattice.injection": "\(mutation.message)"])
            } else {
                self.metrics.skipped.increment()
                logger.debug("not injected", metadata: ["lattice.injection": "\(mutation.message)"])
            }
            return Answer(
                httpStatus: 200,
                body: AdmissionReviewCodec.allowed(uid: request.uid, patch: mutation.patch, warnings: mutation.warning.map { [$0] } ?? [])
            )
        } catch {
            self.metrics.failed.increment()
            logger.warning("cannot inject", metadata: ["error.message": "\(error)"])
            return Answer(
                httpStatus: 200,
                body: AdmissionReviewCodec.failed(AdmissionReviewError(uid: request.uid, reason: "\(error)"), code: 422)
            )
        }
    }

    private static func nanoseconds(since start: ContinuousClock.Instant) -> Int64 {
        let elapsed = start.duration(to: .now).components
        return elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000
    }
}

/// The webhook's metrics.
///
/// - `lattice_webhook_admissions_total{result}`: reviews answered: `injected`, `skipped` (not selected, or a reason
///   the report names), `failed` (the Pod could not be read), `malformed` (not an AdmissionReview).
/// - `lattice_webhook_admission_duration_seconds`: time to answer one review (decode, inject, encode).
public struct WebhookMetrics: Sendable {
    public let injected: Counter
    public let skipped: Counter
    public let failed: Counter
    public let malformed: Counter
    public let duration: Metrics.Timer

    public init(factory: any MetricsFactory) {
        let label = "lattice_webhook_admissions_total"
        self.injected = Counter(label: label, dimensions: [("result", "injected")], factory: factory)
        self.skipped = Counter(label: label, dimensions: [("result", "skipped")], factory: factory)
        self.failed = Counter(label: label, dimensions: [("result", "failed")], factory: factory)
        self.malformed = Counter(label: label, dimensions: [("result", "malformed")], factory: factory)
        self.duration = Metrics.Timer(label: "lattice_webhook_admission_duration_seconds", factory: factory)
    }
}
