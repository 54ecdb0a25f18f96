import Glibc
import NIOCore
import NIOHTTP1
import Synchronization

/// Live request records for `lattice tap`: kept only while someone is tapping (a poll of the admin endpoint `/tap`
/// within the last 10 s), so an untapped proxy pays one atomic load per response and nothing else.
final class TapHub: Sendable {
    struct Event: Sendable {
        var sequence: UInt64
        var unixMillis: Int64
        var labels: [String: String]
        var method: String
        var path: String
        var statusCode: Int
        var grpcStatus: Int?
        var error: String?
        var latencyMicros: Int64
    }

    private struct Ring {
        var events: [Event] = []
        var next: UInt64 = 1
        var start = 0
    }

    static let capacity = 512
    static let window: Duration = .seconds(10)

    private let activeUntilNanos = Atomic<Int64>(0)
    private let ring = Mutex(Ring())

    private static func nowNanos() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) }

    var isActive: Bool { self.activeUntilNanos.load(ordering: .relaxed) > Self.nowNanos() }

    func record(
        labels: [String: String],
        head: HTTPRequestHead?,
        statusCode: Int,
        grpcStatus: Int?,
        error: String?,
        latencyMicros: Int64
    ) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let unixMillis = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
        let path = head.map { String($0.uri.prefix(256)) } ?? ""
        self.ring.withLock { ring in
            let event = Event(
                sequence: ring.next, unixMillis: unixMillis, labels: labels, method: head?.method.rawValue ?? "",
                path: path, statusCode: statusCode, grpcStatus: grpcStatus, error: error, latencyMicros: latencyMicros
            )
            ring.next += 1
            if ring.events.count < Self.capacity {
                ring.events.append(event)
            } else {
                ring.events[ring.start] = event
                ring.start = (ring.start + 1) % Self.capacity
            }
        }
    }

    /// The events after `since` (oldest first), as JSON lines; turns recording on for the next 10 s. Without
    /// `since`, only `{"latest":N}`: where a new tap starts.
    func poll(since: UInt64?) -> String {
        let window = Self.window.components.seconds * 1_000_000_000
        self.activeUntilNanos.store(Self.nowNanos() + window, ordering: .relaxed)
        guard let since else { return "{\"latest\":\(self.ring.withLock { $0.next - 1 })}\n" }
        let events = self.ring.withLock { ring -> [Event] in
            let ordered = Array(ring.events[ring.start...] + ring.events[..<ring.start])
            return ordered.filter { $0.sequence > since }
        }
        return events.map(Self.json).joined()
    }

    static func json(_ e: Event) -> String {
        func q(_ s: String) -> String {
            var out = "\""
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where scalar.value < 0x20: out += "\\u" + String(scalar.value, radix: 16).leftPadded(4)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        var fields = [
            "\"seq\":\(e.sequence)", "\"time_ms\":\(e.unixMillis)", "\"method\":\(q(e.method))", "\"path\":\(q(e.path))",
            "\"status\":\(e.statusCode)", "\"latency_us\":\(e.latencyMicros)",
        ]
        for key in ["direction", "tls", "client_id", "server_id", "authority", "target_addr", "no_tls_reason"] {
            if let value = e.labels[key], !value.isEmpty { fields.append("\(q(key)):\(q(value))") }
        }
        if let grpc = e.grpcStatus { fields.append("\"grpc_status\":\(grpc)") }
        if let error = e.error { fields.append("\"error\":\(q(error))") }
        return "{" + fields.joined(separator: ",") + "}\n"
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: max(0, width - self.count)) + self
    }
}
