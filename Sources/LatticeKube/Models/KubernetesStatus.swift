/// The API server's `Status` object (`meta/v1`), returned as the body of failed requests and inside watch `ERROR`
/// events.
///
/// Named `KubernetesStatus` so it does not clash with GRPCCore's `Status` in modules importing both.
///
/// Only the fields a client acts on are modelled; unknown fields are ignored.
public struct KubernetesStatus: Codable, Sendable, Hashable {
    /// Extra detail about the failure.
    public struct Details: Codable, Sendable, Hashable {
        /// The name of the object concerned, if any.
        public var name: String?
        /// The API group of the object concerned, if any.
        public var group: String?
        /// The kind (or resource) of the object concerned, if any.
        public var kind: String?
        /// How long the client should wait before retrying, if the server said.
        public var retryAfterSeconds: Int?

        /// Creates details.
        public init(name: String? = nil, group: String? = nil, kind: String? = nil, retryAfterSeconds: Int? = nil) {
            self.name = name
            self.group = group
            self.kind = kind
            self.retryAfterSeconds = retryAfterSeconds
        }
    }

    /// Always `Status` when the body is a status object.
    public var kind: String?
    /// Usually `v1`.
    public var apiVersion: String?
    /// `Success` or `Failure`.
    public var status: String?
    /// A human-readable description of the failure.
    public var message: String?
    /// A machine-readable reason in CamelCase (`Forbidden`, `NotFound`, `Expired`, …).
    public var reason: String?
    /// Extra detail, if any.
    public var details: Details?
    /// The HTTP status code this status stands for.
    public var code: Int?

    /// Creates a status.
    public init(
        kind: String? = "Status",
        apiVersion: String? = "v1",
        status: String? = nil,
        message: String? = nil,
        reason: String? = nil,
        details: Details? = nil,
        code: Int? = nil
    ) {
        self.kind = kind
        self.apiVersion = apiVersion
        self.status = status
        self.message = message
        self.reason = reason
        self.details = details
        self.code = code
    }
}
