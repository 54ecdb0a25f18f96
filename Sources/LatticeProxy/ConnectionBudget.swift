import Synchronization

/// The proxy's cap on connections it accepts at once, across all listeners (`LATTICE_PROXY_MAX_CONNECTIONS`).
///
/// Each proxied connection costs two sockets and some buffers; past the cap a new connection is closed at once and
/// counted, so a burst cannot take the sidecar (and its pod) out of memory or file descriptors.
final class ConnectionBudget: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes one slot, or returns false when all are taken.
    func tryAcquire() -> Bool {
        let now = self.open.wrappingAdd(1, ordering: .relaxed).newValue
        if now > self.limit {
            self.open.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func release() {
        self.open.wrappingSubtract(1, ordering: .relaxed)
    }

    var inUse: Int { self.open.load(ordering: .relaxed) }
}
