import Foundation
import Synchronization

/// Supplies the bearer token for each request, re-reading a token file as the kubelet rotates it.
///
/// Projected ServiceAccount tokens expire (one hour by default) and the kubelet rewrites the file well before then,
/// so the file is re-read when the cached copy is older than the refresh interval, when ``invalidate()`` is called,
/// and after the server rejects the cached token with 401. Reads are small and rare; they happen on the calling task.
///
/// Thread-safe: the cache is guarded by a `Mutex`.
final class BearerTokenProvider: Sendable {
    private enum Source {
        case none
        case fixed(String)
        case file(path: String)
    }

    private struct CachedToken {
        var token: String
        var readAt: ContinuousClock.Instant
    }

    private let source: Source
    private let refreshInterval: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let cache: Mutex<CachedToken?>

    /// Creates a provider.
    ///
    /// - Parameters:
    ///   - authentication: The configured credentials; only the token variants produce tokens.
    ///   - refreshInterval: How long a token read from a file is reused.
    ///   - now: The clock, injectable for tests.
    init(
        authentication: KubernetesClientConfig.Authentication,
        refreshInterval: Duration,
        now: @escaping @Sendable () -> ContinuousClock.Instant
    ) {
        switch authentication {
        case .none, .clientCertificate: self.source = .none
        case .bearerToken(let token): self.source = .fixed(token)
        case .bearerTokenFile(let path): self.source = .file(path: path)
        }
        self.refreshInterval = refreshInterval
        self.now = now
        self.cache = Mutex(nil)
    }

    /// Whether the token comes from a file, so that re-reading it after a 401 may help.
    var isFileBacked: Bool {
        if case .file = self.source {
            return true
        }
        return false
    }

    /// The token to send, or `nil` if the client does not use bearer tokens.
    ///
    /// - Throws: ``KubernetesError`` with code ``KubernetesError/Code/config`` if the token file cannot be read or
    ///   is empty.
    func token() throws -> String? {
        switch self.source {
        case .none:
            return nil
        case .fixed(let token):
            return token
        case .file(let path):
            let now = self.now()
            let cached = self.cache.withLock { cache -> String? in
                guard let cache, cache.readAt.duration(to: now) < self.refreshInterval else {
                    return nil
                }
                return cache.token
            }
            if let cached {
                return cached
            }
            let token = try Self.read(path)
            self.cache.withLock { $0 = CachedToken(token: token, readAt: now) }
            return token
        }
    }

    /// Forgets the cached token so that the next request reads the file again.
    func invalidate() {
        self.cache.withLock { $0 = nil }
    }

    /// Re-reads the token file after the server rejected `rejected`.
    ///
    /// - Parameter rejected: The token the server answered 401 to.
    /// - Returns: `true` if the file now holds a different token, so a retry may succeed.
    /// - Throws: ``KubernetesError`` if the token file cannot be read.
    func reload(afterRejecting rejected: String) throws -> Bool {
        guard self.isFileBacked else {
            return false
        }
        self.invalidate()
        return try self.token() != rejected
    }

    private static func read(_ path: String) throws -> String {
        let text = try ConfigFile.readText(path, what: "the bearer token file")
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw KubernetesError(code: .config, reason: "the bearer token file \(path) is empty")
        }
        return token
    }
}
