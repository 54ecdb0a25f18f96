/// The Kubernetes API as Lattice uses it: authenticate tokens, read objects, list and watch collections.
///
/// ``KubernetesClient`` is the real implementation; tests of the controller and CLI substitute fakes. Paths are
/// API paths such as `/api/v1/namespaces/default/pods` or `/apis/discovery.k8s.io/v1/endpointslices`.
///
/// Every method throws (or, for ``watch(_:as:resourceVersion:options:)``, finishes the stream with)
/// ``KubernetesError`` for API failures; classify on its ``KubernetesError/code``.
public protocol KubernetesAPI: Sendable {
    /// Asks the API server to authenticate a bearer token for the given audiences.
    ///
    /// - Parameters:
    ///   - token: The token to review (a workload's projected ServiceAccount token).
    ///   - audiences: The audiences the token must be valid for; empty means the API server's own.
    /// - Returns: The verdict; an invalid token is `authenticated == false`, not an error.
    /// - Throws: ``KubernetesError`` if the review itself failed (for example ``KubernetesError/Code/forbidden``
    ///   when the caller lacks RBAC permission to create TokenReviews).
    func createTokenReview(token: String, audiences: [String]) async throws -> TokenReviewStatus

    /// Reads one object.
    ///
    /// - Parameters:
    ///   - path: The object's API path, such as `/api/v1/namespaces/default/pods/web-0`.
    ///   - type: The type to decode.
    /// - Returns: The decoded object.
    /// - Throws: ``KubernetesError`` (``KubernetesError/Code/notFound`` if it does not exist).
    func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T

    /// Lists a collection.
    ///
    /// - Parameters:
    ///   - path: The collection's API path, such as `/api/v1/pods`.
    ///   - type: The item type to decode.
    ///   - options: Selectors and paging.
    /// - Returns: The items and the list's resourceVersion, to start a watch from.
    /// - Throws: ``KubernetesError``.
    func list<Item: Decodable>(
        _ path: String,
        of type: Item.Type,
        options: ListOptions
    ) async throws
        -> KubernetesList<Item>

    /// Watches a collection for changes.
    ///
    /// The stream yields events until the server ends the watch (it does after ``WatchOptions/timeout`` or its own
    /// limit), then finishes normally; the caller watches again from the last resourceVersion it saw. A
    /// resourceVersion too old to resume from finishes the stream with ``KubernetesError/Code/gone``: the caller
    /// must re-list. Stopping iteration cancels the watch.
    ///
    /// - Parameters:
    ///   - path: The collection's API path, such as `/api/v1/namespaces`.
    ///   - type: The object type to decode.
    ///   - resourceVersion: Where to resume, usually the list's or the last event's; `nil` starts from "now" (the
    ///     server then sends synthetic `ADDED` events for existing objects).
    ///   - options: Selectors, timeout and bookmarks.
    /// - Returns: The events.
    func watch<Object: Decodable & Sendable>(
        _ path: String,
        as type: Object.Type,
        resourceVersion: String?,
        options: WatchOptions
    ) -> AsyncThrowingStream<WatchEvent<Object>, any Error>

    /// Reads the API server's version from `GET /version`.
    ///
    /// - Returns: The version, with numeric major and minor (`"29+"` reads as 29).
    /// - Throws: ``KubernetesError``.
    func serverVersion() async throws -> ServerVersion
}

extension KubernetesAPI {
    /// Lists a collection without selectors or paging.
    ///
    /// - Parameters:
    ///   - path: The collection's API path.
    ///   - type: The item type to decode.
    /// - Returns: The items and the list's resourceVersion.
    /// - Throws: ``KubernetesError``.
    public func list<Item: Decodable>(_ path: String, of type: Item.Type) async throws -> KubernetesList<Item> {
        try await self.list(path, of: type, options: ListOptions())
    }

    /// Watches a collection with the default options (bookmarks on, server-chosen timeout).
    ///
    /// - Parameters:
    ///   - path: The collection's API path.
    ///   - type: The object type to decode.
    ///   - resourceVersion: Where to resume; `nil` starts from "now".
    /// - Returns: The events.
    public func watch<Object: Decodable & Sendable>(
        _ path: String,
        as type: Object.Type,
        resourceVersion: String?
    ) -> AsyncThrowingStream<WatchEvent<Object>, any Error> {
        self.watch(path, as: type, resourceVersion: resourceVersion, options: WatchOptions())
    }
}

/// Selectors and paging for ``KubernetesAPI/list(_:of:options:)``.
public struct ListOptions: Sendable, Hashable {
    /// A label selector (`app=web,tier in (a,b)`), if any.
    public var labelSelector: String?
    /// A field selector (`spec.nodeName=node-1`), if any.
    public var fieldSelector: String?
    /// The maximum number of items per page, if any.
    public var limit: Int?
    /// The previous page's ``ListMeta/continue`` token, to fetch the next page.
    public var continueToken: String?

    /// Creates list options.
    public init(
        labelSelector: String? = nil,
        fieldSelector: String? = nil,
        limit: Int? = nil,
        continueToken: String? = nil
    ) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.limit = limit
        self.continueToken = continueToken
    }

    var queryItems: [(String, String)] {
        var items: [(String, String)] = []
        if let labelSelector = self.labelSelector { items.append(("labelSelector", labelSelector)) }
        if let fieldSelector = self.fieldSelector { items.append(("fieldSelector", fieldSelector)) }
        if let limit = self.limit { items.append(("limit", String(limit))) }
        if let continueToken = self.continueToken { items.append(("continue", continueToken)) }
        return items
    }
}

/// Selectors and timing for ``KubernetesAPI/watch(_:as:resourceVersion:options:)``.
public struct WatchOptions: Sendable, Hashable {
    /// A label selector, if any.
    public var labelSelector: String?
    /// A field selector, if any.
    public var fieldSelector: String?
    /// How long the server keeps the watch open (`timeoutSeconds`); `nil` lets the server choose (30–60 min).
    public var timeout: Duration?
    /// Whether to ask for `BOOKMARK` events, which advance the resourceVersion without a change.
    public var allowsBookmarks: Bool

    /// Creates watch options.
    public init(
        labelSelector: String? = nil,
        fieldSelector: String? = nil,
        timeout: Duration? = nil,
        allowsBookmarks: Bool = true
    ) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.timeout = timeout
        self.allowsBookmarks = allowsBookmarks
    }
}
