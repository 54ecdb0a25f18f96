import FoundationEssentials
import Synchronization

/// Bounds the identity service's work so a flood from one caller neither crashes it nor starves the others:
/// a cap on requests in flight, and a token bucket per peer address.
public final class RequestLimiter: Sendable {
    public struct Settings: Sendable {
        /// Requests being handled at once, across all callers.
        public var maxInFlight: Int
        /// Sustained requests per second from one peer address; 0 turns the per-peer limit off.
        public var perPeerRate: Double
        /// Requests one peer may send at once before the rate applies.
        public var perPeerBurst: Double

        public init(maxInFlight: Int = 256, perPeerRate: Double = 500, perPeerBurst: Double = 1000) {
            self.maxInFlight = maxInFlight
            self.perPeerRate = perPeerRate
            self.perPeerBurst = perPeerBurst
        }
    }

    public enum Refusal: Sendable, Equatable {
        case tooManyInFlight
        case peerRateExceeded
    }

    private struct Bucket {
        var tokens: Double
        var updated: Date
    }

    private struct State {
        var inFlight = 0
        var buckets: [String: Bucket] = [:]
    }

    private let settings: Settings
    private let now: @Sendable () -> Date
    private let state = Mutex(State())

    public init(settings: Settings, now: @escaping @Sendable () -> Date = { Date() }) {
        self.settings = settings
        self.now = now
    }

    /// Admits one request from `peer`, or says why not. Call ``release()`` when an admitted request ends.
    public func acquire(peer: String) -> Refusal? {
        let now = self.now()
        return self.state.withLock { state -> Refusal? in
            if state.inFlight >= self.settings.maxInFlight { return .tooManyInFlight }
            if self.settings.perPeerRate > 0 {
                let host = Self.host(of: peer)
                var bucket = state.buckets[host] ?? Bucket(tokens: self.settings.perPeerBurst, updated: now)
                let elapsed = max(0, now.timeIntervalSince(bucket.updated))
                bucket.tokens = min(self.settings.perPeerBurst, bucket.tokens + elapsed * self.settings.perPeerRate)
                bucket.updated = now
                guard bucket.tokens >= 1 else {
                    state.buckets[host] = bucket
                    return .peerRateExceeded
                }
                bucket.tokens -= 1
                state.buckets[host] = bucket
                if state.buckets.count > 10_000 {
                    // Forget full buckets so a scan of many source addresses cannot grow the table without bound.
                    state.buckets = state.buckets.filter { $0.value.tokens < self.settings.perPeerBurst - 1 }
                }
            }
            state.inFlight += 1
            return nil
        }
    }

    public func release() {
        self.state.withLock { $0.inFlight -= 1 }
    }

    /// `ipv4:127.0.0.1:5555` → `ipv4:127.0.0.1`; `ipv6:[::1]:5555` → `ipv6:[::1]`.
    static func host(of peer: String) -> String {
        guard let colon = peer.lastIndex(of: ":"), !peer.hasSuffix("]") else { return peer }
        return String(peer[..<colon])
    }
}
