import Synchronization

/// The current ``MeshSnapshot`` and everyone waiting for the next one.
///
/// Backends ``publish(_:)``; each destination or policy stream ``subscribe()``s and gets the current snapshot at
/// once, then each later one. A subscriber's buffer holds only the newest snapshot, so a slow stream costs one
/// snapshot reference, never a queue: memory stays bounded however many proxies are watching.
public final class DiscoveryStore: Sendable {
    private struct State {
        var snapshot: MeshSnapshot?
        var version: UInt64 = 0
        var subscribers: [UInt64: AsyncStream<Versioned>.Continuation] = [:]
        var nextID: UInt64 = 0
        var isClosed = false
    }

    public struct Versioned: Sendable {
        public let version: UInt64
        public let snapshot: MeshSnapshot
    }

    private let state = Mutex(State())

    public init() {}

    /// The current snapshot; nil until a backend has published one.
    public var current: Versioned? {
        self.state.withLock { state in state.snapshot.map { Versioned(version: state.version, snapshot: $0) } }
    }

    public var subscriberCount: Int { self.state.withLock { $0.subscribers.count } }

    /// Replaces the snapshot; subscribers hear of it only when it differs from the last one. True when it did.
    @discardableResult
    public func publish(_ snapshot: MeshSnapshot) -> Bool {
        self.state.withLock { state in
            guard state.snapshot != snapshot else { return false }
            state.snapshot = snapshot
            state.version += 1
            let versioned = Versioned(version: state.version, snapshot: snapshot)
            for continuation in state.subscribers.values { continuation.yield(versioned) }
            return true
        }
    }

    /// Calls `body` with `answer(snapshot)` for the current snapshot, then again each time a new snapshot changes
    /// the answer, until the subscription ends (the caller goes away or the store closes). What the destination and
    /// policy streams are made of.
    public func forEachChange<Answer: Equatable>(
        of answer: (MeshSnapshot) -> Answer,
        _ body: (Answer) async throws -> Void
    ) async rethrows {
        var last: Answer?
        for await versioned in self.subscribe() {
            let next = answer(versioned.snapshot)
            guard next != last else { continue }
            last = next
            try await body(next)
        }
    }

    /// Ends every subscription (the controller is shutting down) and refuses new ones.
    public func close() {
        let continuations = self.state.withLock { state in
            state.isClosed = true
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for continuation in continuations { continuation.finish() }
    }

    /// The current snapshot (when there is one), then every new one, until the consumer stops iterating.
    public func subscribe() -> AsyncStream<Versioned> {
        let (stream, continuation) = AsyncStream.makeStream(of: Versioned.self, bufferingPolicy: .bufferingNewest(1))
        let id: UInt64? = self.state.withLock { state in
            if state.isClosed {
                continuation.finish()
                return nil
            }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = continuation
            if let snapshot = state.snapshot { continuation.yield(Versioned(version: state.version, snapshot: snapshot)) }
            return id
        }
        guard let id else { return stream }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }
}
