/// An error raised by the Kubernetes API client.
///
/// Like `CertificateError` in swift-certificates, the error is a struct holding a ``Code`` (a struct over a private
/// enum, so cases can be added without breaking the API), a human-readable ``reason`` and the place it was raised.
/// Equality and hashing use the ``code`` only, so a test can build the error it expects and compare.
///
/// Callers classify on ``code`` (never on ``reason``): a watch that fails with ``Code/gone`` must re-list, a
/// ``Code/tooManyRequests`` error carries the server's ``retryAfter`` hint.
public struct KubernetesError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: Sendable, Hashable {
            case unauthorized
            case forbidden
            case notFound
            case conflict
            case gone
            case tooManyRequests
            case invalidRequest
            case server
            case transport
            case decoding
            case config
            case notServiceAccount
        }

        private let value: Value

        private init(_ value: Value) {
            self.value = value
        }

        /// HTTP 401: the credentials were missing, invalid or expired.
        public static let unauthorized = Code(.unauthorized)
        /// HTTP 403: the credentials are valid but RBAC does not allow the request.
        public static let forbidden = Code(.forbidden)
        /// HTTP 404: the object or resource does not exist.
        public static let notFound = Code(.notFound)
        /// HTTP 409: the object already exists, or an update lost a resourceVersion race.
        public static let conflict = Code(.conflict)
        /// HTTP 410 (or a watch `ERROR` event with code 410): the resourceVersion is too old; re-list.
        public static let gone = Code(.gone)
        /// HTTP 429: the API server is throttling; see ``KubernetesError/retryAfter``.
        public static let tooManyRequests = Code(.tooManyRequests)
        /// Any other HTTP 4xx (400 Bad Request, 422 Invalid, …): the request itself is wrong.
        public static let invalidRequest = Code(.invalidRequest)
        /// HTTP 5xx, or any other unexpected status.
        public static let server = Code(.server)
        /// The request could not be sent or the response could not be read (connect, TLS, timeout, reset).
        public static let transport = Code(.transport)
        /// The response body could not be decoded into the expected type.
        public static let decoding = Code(.decoding)
        /// The client configuration (in-cluster files, kubeconfig, PEM material) is missing or invalid.
        public static let config = Code(.config)
        /// An authenticated username is not a ServiceAccount (`system:serviceaccount:<namespace>:<name>`).
        public static let notServiceAccount = Code(.notServiceAccount)

        public var description: String {
            switch self.value {
            case .unauthorized: "unauthorized"
            case .forbidden: "forbidden"
            case .notFound: "notFound"
            case .conflict: "conflict"
            case .gone: "gone"
            case .tooManyRequests: "tooManyRequests"
            case .invalidRequest: "invalidRequest"
            case .server: "server"
            case .transport: "transport"
            case .decoding: "decoding"
            case .config: "config"
            case .notServiceAccount: "notServiceAccount"
            }
        }
    }

    /// The kind of failure; the only field that takes part in equality.
    public var code: Code
    /// What went wrong, for humans. Includes the API's `Status.message` when the server sent one.
    public var reason: String
    /// The HTTP status code of the response, or of the watch `ERROR` event's `Status`, if there was one.
    public var httpStatus: Int?
    /// The server's back-off hint (`Retry-After` header or `Status.details.retryAfterSeconds`), if any.
    public var retryAfter: Duration?
    /// The `Status` object the API server returned, if the body was one.
    public var status: KubernetesStatus?
    /// The file that raised the error.
    public var file: String
    /// The line that raised the error.
    public var line: Int

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - reason: What went wrong.
    ///   - httpStatus: The HTTP status code, if any.
    ///   - retryAfter: The server's back-off hint, if any.
    ///   - status: The API's `Status` object, if any.
    ///   - file: The file raising the error; defaults to the caller's.
    ///   - line: The line raising the error; defaults to the caller's.
    public init(
        code: Code,
        reason: String,
        httpStatus: Int? = nil,
        retryAfter: Duration? = nil,
        status: KubernetesStatus? = nil,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.reason = reason
        self.httpStatus = httpStatus
        self.retryAfter = retryAfter
        self.status = status
        self.file = file
        self.line = line
    }

    public static func == (lhs: KubernetesError, rhs: KubernetesError) -> Bool {
        lhs.code == rhs.code
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.code)
    }

    public var description: String {
        var text = "KubernetesError.\(self.code)"
        if let httpStatus = self.httpStatus {
            text += " (HTTP \(httpStatus))"
        }
        text += ": \(self.reason)"
        if let retryAfter = self.retryAfter {
            text += " (retry after \(retryAfter.components.seconds)s)"
        }
        return text + " [\(self.file):\(self.line)]"
    }
}

extension KubernetesError.Code {
    /// The code for an HTTP error status, the single place where statuses are classified.
    ///
    /// - Parameter httpStatus: An HTTP status code outside 2xx.
    /// - Returns: The matching code; unknown statuses map to ``server``.
    static func forHTTPStatus(_ httpStatus: Int) -> KubernetesError.Code {
        switch httpStatus {
        case 401: .unauthorized
        case 403: .forbidden
        case 404: .notFound
        case 409: .conflict
        case 410: .gone
        case 429: .tooManyRequests
        case 400..<500: .invalidRequest
        default: .server
        }
    }
}
