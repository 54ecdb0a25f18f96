/// A TokenReview (`authentication.k8s.io/v1`): asks the API server to authenticate a bearer token.
///
/// The identity service POSTs one per certificate request to turn a workload's projected ServiceAccount token into
/// a ServiceAccount name. The request carries only ``spec``; the response echoes it and fills ``status``.
public struct TokenReview: Codable, Sendable, Hashable {
    /// Always `authentication.k8s.io/v1`.
    public var apiVersion: String
    /// Always `TokenReview`.
    public var kind: String
    /// The token to review and the audiences it must be valid for.
    public var spec: TokenReviewSpec
    /// The verdict; present in responses only.
    public var status: TokenReviewStatus?

    /// Creates a TokenReview request.
    ///
    /// - Parameters:
    ///   - spec: The token and audiences to review.
    ///   - status: The verdict; leave `nil` in requests.
    public init(spec: TokenReviewSpec, status: TokenReviewStatus? = nil) {
        self.apiVersion = "authentication.k8s.io/v1"
        self.kind = "TokenReview"
        self.spec = spec
        self.status = status
    }
}

/// What a TokenReview asks (`authentication.k8s.io/v1` `TokenReviewSpec`).
public struct TokenReviewSpec: Codable, Sendable, Hashable {
    /// The bearer token to authenticate.
    public var token: String
    /// The audiences the token must be valid for; empty means the API server's own audiences.
    public var audiences: [String]?

    /// Creates a spec.
    ///
    /// - Parameters:
    ///   - token: The bearer token to authenticate.
    ///   - audiences: The audiences the token must be valid for; `nil` or empty means the API server's.
    public init(token: String, audiences: [String]? = nil) {
        self.token = token
        self.audiences = audiences
    }
}

/// The verdict of a TokenReview (`authentication.k8s.io/v1` `TokenReviewStatus`).
///
/// The API omits `authenticated` when it is false; it decodes as `false` here.
public struct TokenReviewStatus: Codable, Sendable, Hashable {
    /// Whether the token is valid for (one of) the requested audiences.
    public var authenticated: Bool
    /// Who the token belongs to; empty when not authenticated.
    public var user: UserInfo?
    /// The requested audiences the token is valid for.
    public var audiences: [String]?
    /// Why authentication failed, if the authenticator said.
    public var error: String?

    /// Creates a status.
    public init(authenticated: Bool, user: UserInfo? = nil, audiences: [String]? = nil, error: String? = nil) {
        self.authenticated = authenticated
        self.user = user
        self.audiences = audiences
        self.error = error
    }

    private enum CodingKeys: String, CodingKey {
        case authenticated
        case user
        case audiences
        case error
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.authenticated = try container.decodeIfPresent(Bool.self, forKey: .authenticated) ?? false
        self.user = try container.decodeIfPresent(UserInfo.self, forKey: .user)
        self.audiences = try container.decodeIfPresent([String].self, forKey: .audiences)
        self.error = try container.decodeIfPresent(String.self, forKey: .error)
    }
}

/// The user a token belongs to (`authentication.k8s.io/v1` `UserInfo`).
public struct UserInfo: Codable, Sendable, Hashable {
    /// The username; for a ServiceAccount `system:serviceaccount:<namespace>:<name>`.
    public var username: String?
    /// The user's unique ID (the ServiceAccount's UID).
    public var uid: String?
    /// The user's groups.
    public var groups: [String]?
    /// Extra attributes; bound tokens carry `authentication.kubernetes.io/pod-name` and `…/pod-uid`.
    public var extra: [String: [String]]?

    /// Creates user info.
    public init(
        username: String? = nil,
        uid: String? = nil,
        groups: [String]? = nil,
        extra: [String: [String]]? = nil
    ) {
        self.username = username
        self.uid = uid
        self.groups = groups
        self.extra = extra
    }
}
