/// The standard object metadata (`meta/v1` `ObjectMeta`), reduced to what the mesh reads.
///
/// Every field is optional because the API omits empty ones (a watch `BOOKMARK` carries only `resourceVersion`).
public struct ObjectMeta: Codable, Sendable, Hashable {
    /// The object's name.
    public var name: String?
    /// The object's namespace; `nil` for cluster-scoped objects.
    public var namespace: String?
    /// The object's unique ID.
    public var uid: String?
    /// The version to resume a watch from, or to guard an update with.
    public var resourceVersion: String?
    /// The object's labels.
    public var labels: [String: String]?
    /// The object's annotations.
    public var annotations: [String: String]?
    /// The objects that own this one (a Pod's ReplicaSet, …).
    public var ownerReferences: [OwnerReference]?
    /// When the object's deletion was requested (RFC 3339); set while it terminates, absent otherwise.
    public var deletionTimestamp: String?

    /// Creates metadata.
    public init(
        name: String? = nil,
        namespace: String? = nil,
        uid: String? = nil,
        resourceVersion: String? = nil,
        labels: [String: String]? = nil,
        annotations: [String: String]? = nil,
        ownerReferences: [OwnerReference]? = nil,
        deletionTimestamp: String? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.uid = uid
        self.resourceVersion = resourceVersion
        self.labels = labels
        self.annotations = annotations
        self.ownerReferences = ownerReferences
        self.deletionTimestamp = deletionTimestamp
    }
}

/// A reference from an object to its owner (`meta/v1` `OwnerReference`).
public struct OwnerReference: Codable, Sendable, Hashable {
    /// The owner's API version (`apps/v1`).
    public var apiVersion: String
    /// The owner's kind (`ReplicaSet`).
    public var kind: String
    /// The owner's name.
    public var name: String
    /// The owner's unique ID.
    public var uid: String
    /// Whether this owner is the managing controller.
    public var controller: Bool?

    /// Creates an owner reference.
    public init(apiVersion: String, kind: String, name: String, uid: String, controller: Bool? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
    }
}

/// A reference to another object (`core/v1` `ObjectReference`), as in an EndpointSlice endpoint's `targetRef`.
public struct ObjectReference: Codable, Sendable, Hashable {
    /// The referent's kind (`Pod`).
    public var kind: String?
    /// The referent's namespace.
    public var namespace: String?
    /// The referent's name.
    public var name: String?
    /// The referent's unique ID.
    public var uid: String?

    /// Creates an object reference.
    public init(kind: String? = nil, namespace: String? = nil, name: String? = nil, uid: String? = nil) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }
}
