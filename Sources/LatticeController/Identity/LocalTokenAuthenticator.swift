import FoundationEssentials
import LatticeModel
import Synchronization

/// Authenticates tokens listed in a local tokens file: the local-mode stand-in for Kubernetes' TokenReview.
///
/// The file has one token a line: `TOKEN NAMESPACE/SERVICEACCOUNT [NOT-AFTER]`, where NOT-AFTER is an ISO 8601
/// time after which the token is refused; `#` starts a comment. The file is re-read when it changes (checked at
/// most every `recheckInterval`), so tokens can be added or revoked while the controller runs.
public final class LocalTokenAuthenticator: TokenAuthenticator {
    public struct Entry: Sendable, Hashable {
        public let identity: WorkloadIdentity
        public let notAfter: Date?
    }

    private struct Cache {
        var entries: [String: Entry] = [:]
        var fingerprint: [UInt8] = []
        var checkedAt: Date = .distantPast
        var error: String?
    }

    private let path: String
    private let domain: IdentityDomain
    private let recheckInterval: Double
    private let now: @Sendable () -> Date
    private let cache = Mutex(Cache())

    public init(
        path: String,
        domain: IdentityDomain,
        recheckInterval: Duration = .seconds(1),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.path = path
        self.domain = domain
        self.recheckInterval = recheckInterval.timeInterval
        self.now = now
    }

    /// Reads the file now; throws when it cannot be read or parsed, so a typo fails the controller's start.
    public func load() throws(AuthenticationError) {
        let entries = try self.readFile()
        self.cache.withLock {
            $0.entries = entries.entries
            $0.fingerprint = entries.fingerprint
            $0.checkedAt = self.now()
            $0.error = nil
        }
    }

    public func authenticate(token: String) async throws(AuthenticationError) -> WorkloadIdentity {
        let now = self.now()
        self.refreshIfDue(now: now)
        let entry = self.cache.withLock { $0.entries[token] }
        guard let entry else {
            throw AuthenticationError(.unauthenticated, "the token is not known")
        }
        if let notAfter = entry.notAfter, now > notAfter {
            throw AuthenticationError(.unauthenticated, "the token expired at \(notAfter.formatted(.iso8601))")
        }
        return entry.identity
    }

    private func refreshIfDue(now: Date) {
        let due = self.cache.withLock { now.timeIntervalSince($0.checkedAt) >= self.recheckInterval }
        guard due else { return }
        do {
            let parsed = try self.readFile()
            self.cache.withLock {
                $0.checkedAt = now
                if parsed.fingerprint != $0.fingerprint {
                    $0.entries = parsed.entries
                    $0.fingerprint = parsed.fingerprint
                }
                $0.error = nil
            }
        } catch {
            // Keep the last good tokens: a half-written file must not log everyone out.
            self.cache.withLock {
                $0.checkedAt = now
                $0.error = error.reason
            }
        }
    }

    private func readFile() throws(AuthenticationError) -> (entries: [String: Entry], fingerprint: [UInt8]) {
        guard let data = FileManager.default.contents(atPath: self.path) else {
            throw AuthenticationError(.unavailable, "\(self.path): cannot read the tokens file")
        }
        let bytes = Array(data)
        guard let text = String(bytes: bytes, encoding: .utf8) else {
            throw AuthenticationError(.unavailable, "\(self.path): the tokens file is not UTF-8 text")
        }
        return (try Self.parse(text, source: self.path, domain: self.domain), bytes)
    }

    /// Parses a tokens file.
    public static func parse(_ text: String, source: String, domain: IdentityDomain) throws(AuthenticationError)
        -> [String: Entry]
    {
        var entries: [String: Entry] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            let at = "\(source):\(number + 1)"
            guard fields.count == 2 || fields.count == 3 else {
                throw AuthenticationError(.unavailable, "\(at): expected 'TOKEN NAMESPACE/SERVICEACCOUNT [NOT-AFTER]'")
            }
            let parts = fields[1].split(separator: "/")
            guard parts.count == 2 else {
                throw AuthenticationError(.unavailable, "\(at): '\(fields[1])' is not NAMESPACE/SERVICEACCOUNT")
            }
            let identity: WorkloadIdentity
            do {
                identity = try WorkloadIdentity(
                    serviceAccount: String(parts[1]),
                    namespace: String(parts[0]),
                    domain: domain
                )
            } catch {
                throw AuthenticationError(.unavailable, "\(at): \(error.reason)")
            }
            var notAfter: Date?
            if fields.count == 3 {
                guard let date = try? Date(String(fields[2]), strategy: .iso8601) else {
                    throw AuthenticationError(.unavailable, "\(at): '\(fields[2])' is not an ISO 8601 time")
                }
                notAfter = date
            }
            let token = String(fields[0])
            guard entries[token] == nil else {
                throw AuthenticationError(.unavailable, "\(at): the token is listed twice")
            }
            entries[token] = Entry(identity: identity, notAfter: notAfter)
        }
        return entries
    }
}
