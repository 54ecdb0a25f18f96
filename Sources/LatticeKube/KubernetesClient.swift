import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOSSL

/// The Kubernetes API client: ``KubernetesAPI`` over async-http-client.
///
/// One client holds one connection pool; create it once per process and call ``shutdown()`` before dropping it
/// (async-http-client requires it). Bearer tokens are read through a cache that re-reads a token file every
/// ``KubernetesClientConfig/tokenRefreshInterval`` or after a 401; a request rejected with 401 is retried once if the
/// token file then holds a different token. Redirects are not followed, so credentials never leave the API server.
public final class KubernetesClient: KubernetesAPI {
    /// The configuration the client was built from.
    public let config: KubernetesClientConfig
    let httpClient: HTTPClient
    let logger: Logger
    private let baseURL: String
    private let tokens: BearerTokenProvider

    /// The largest non-watch response body accepted.
    static let maximumBodyBytes = 256 * 1024 * 1024

    /// Creates a client.
    ///
    /// - Parameters:
    ///   - config: Where the API server is and how to authenticate.
    ///   - eventLoopGroup: The event loops for connections; the shared singleton by default.
    ///   - logger: Where request tracing goes (trace and debug only; tokens are never logged).
    ///   - now: The clock for the token-file cache; injectable for tests.
    /// - Throws: ``KubernetesError`` with code ``KubernetesError/Code/config`` if the server URL or the PEM material
    ///   is invalid.
    public init(
        config: KubernetesClientConfig,
        eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup,
        logger: Logger = Logger(label: "lattice.kube", factory: { _ in SwiftLogNoOpLogHandler() }),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) throws {
        self.config = config
        self.logger = logger
        self.baseURL = try Self.validatedBaseURL(config.serverURL)
        self.tokens = BearerTokenProvider(
            authentication: config.authentication,
            refreshInterval: config.tokenRefreshInterval,
            now: now
        )
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: try Self.makeTLSConfiguration(config),
            redirectConfiguration: .disallow,
            timeout: HTTPClient.Configuration.Timeout(connect: TimeAmount(config.connectTimeout))
        )
        configuration.httpVersion = .http1Only
        self.httpClient = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: configuration)
    }

    /// Closes every connection. Call it exactly once, after the last request (and watch) has finished.
    ///
    /// - Throws: An error if the connection pool did not shut down cleanly.
    public func shutdown() async throws {
        try await self.httpClient.shutdown()
    }

    /// Forgets the cached bearer token, so that the next request reads the token file again.
    public func invalidateToken() {
        self.tokens.invalidate()
    }

    // MARK: - Requests

    /// The HTTP methods the client uses.
    enum Method: String {
        case get = "GET"
        case post = "POST"
        case put = "PUT"
    }

    /// Sends a request and returns the whole body of a 2xx response.
    ///
    /// - Throws: ``KubernetesError`` for a non-2xx response or a transport failure; `CancellationError` if the task
    ///   was cancelled.
    func data(
        _ method: Method,
        _ path: String,
        query: [(String, String)] = [],
        body: ByteBuffer? = nil
    ) async throws
        -> ByteBuffer
    {
        let description = "\(method.rawValue) \(path)"
        let deadline = NIODeadline.now() + TimeAmount(self.config.requestTimeout)
        let response = try await self.send(method, path, query: query, body: body, deadline: deadline)
        let bytes: ByteBuffer
        do {
            bytes = try await response.body.collect(upTo: Self.maximumBodyBytes)
        } catch {
            throw Self.transportError(error, request: description)
        }
        guard (200..<300).contains(response.status.code) else {
            throw KubernetesError.response(
                httpStatus: Int(response.status.code),
                reasonPhrase: response.status.reasonPhrase,
                retryAfterHeader: response.headers.first(name: "Retry-After"),
                body: bytes,
                request: description
            )
        }
        return bytes
    }

    /// Sends a request and returns the response with its body still streaming, retrying once after a 401 if the
    /// token file has changed.
    func send(
        _ method: Method,
        _ path: String,
        query: [(String, String)],
        body: ByteBuffer?,
        deadline: NIODeadline
    ) async throws -> HTTPClientResponse {
        let description = "\(method.rawValue) \(path)"
        let url = try self.url(path, query: query)
        var hasRetried = false
        while true {
            let token = try self.tokens.token()
            var request = HTTPClientRequest(url: url)
            switch method {
            case .get: request.method = .GET
            case .post: request.method = .POST
            case .put: request.method = .PUT
            }
            request.headers.add(name: "Accept", value: "application/json")
            request.headers.add(name: "User-Agent", value: "lattice")
            if let token {
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
            }
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(body)
            }
            self.logger.trace("kubernetes request", metadata: ["lattice.kube.request": "\(description)"])
            let response: HTTPClientResponse
            do {
                response = try await self.httpClient.execute(request, deadline: deadline, logger: self.logger)
            } catch {
                throw Self.transportError(error, request: description)
            }
            self.logger.trace(
                "kubernetes response",
                metadata: ["lattice.kube.request": "\(description)", "http.status": "\(response.status.code)"]
            )
            if response.status.code == 401, !hasRetried, let token, try self.tokens.reload(afterRejecting: token) {
                self.logger.debug(
                    "token rejected; retrying with the re-read token file",
                    metadata: ["lattice.kube.request": "\(description)"]
                )
                _ = try? await response.body.collect(upTo: 1024 * 1024)
                hasRetried = true
                continue
            }
            return response
        }
    }

    /// Decodes a response body.
    ///
    /// - Throws: ``KubernetesError`` with code ``KubernetesError/Code/decoding`` naming the type and request.
    func decode<T: Decodable>(_ type: T.Type, from body: ByteBuffer, request: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch {
            throw KubernetesError(code: .decoding, reason: "\(request): cannot decode \(T.self): \(error)")
        }
    }

    /// Maps an async-http-client or NIO failure to ``KubernetesError/Code/transport``, keeping cancellation.
    static func transportError(_ error: any Error, request: String) -> any Error {
        if error is CancellationError || Task.isCancelled {
            return CancellationError()
        }
        if error is KubernetesError {
            return error
        }
        return KubernetesError(code: .transport, reason: "\(request): \(error)")
    }

    // MARK: - URLs and TLS

    /// The full URL for an API path and query.
    func url(_ path: String, query: [(String, String)]) throws -> String {
        guard path.hasPrefix("/") else {
            throw KubernetesError(code: .invalidRequest, reason: "API path \"\(path)\" does not start with /")
        }
        var url = self.baseURL + path
        if !query.isEmpty {
            url += path.contains("?") ? "&" : "?"
            url += query.map { "\(Self.percentEncode($0.0))=\(Self.percentEncode($0.1))" }.joined(separator: "&")
        }
        return url
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    static func percentEncode(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                encoded.append(Character(Unicode.Scalar(byte)))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                encoded += byte < 16 ? "%0\(hex)" : "%\(hex)"
            }
        }
        return encoded
    }

    private static func validatedBaseURL(_ serverURL: String) throws -> String {
        guard let url = URL(string: serverURL), let scheme = url.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty
        else {
            throw KubernetesError(
                code: .config,
                reason: "server URL \"\(serverURL)\" is not an http:// or https:// URL with a host"
            )
        }
        var base = serverURL
        while base.hasSuffix("/") {
            base.removeLast()
        }
        return base
    }

    private static func makeTLSConfiguration(_ config: KubernetesClientConfig) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caPEM = config.certificateAuthorityPEM {
            do {
                let certificates = try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8))
                guard !certificates.isEmpty else {
                    throw KubernetesError(code: .config, reason: "the CA bundle holds no PEM certificate")
                }
                tls.trustRoots = .certificates(certificates)
            } catch let error as KubernetesError {
                throw error
            } catch {
                throw KubernetesError(code: .config, reason: "the CA bundle is not valid PEM: \(error)")
            }
        }
        if config.isTLSVerificationDisabled {
            tls.certificateVerification = .none
        }
        if case .clientCertificate(let chainPEM, let keyPEM) = config.authentication {
            do {
                let chain = try NIOSSLCertificate.fromPEMBytes(Array(chainPEM.utf8))
                guard !chain.isEmpty else {
                    throw KubernetesError(code: .config, reason: "the client certificate holds no PEM certificate")
                }
                tls.certificateChain = chain.map { .certificate($0) }
            } catch let error as KubernetesError {
                throw error
            } catch {
                throw KubernetesError(code: .config, reason: "the client certificate is not valid PEM: \(error)")
            }
            do {
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem))
            } catch {
                throw KubernetesError(code: .config, reason: "the client key is not a valid PEM private key: \(error)")
            }
        }
        return tls
    }
}
