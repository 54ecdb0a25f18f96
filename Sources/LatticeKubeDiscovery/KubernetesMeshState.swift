import LatticeDiscovery
import LatticeKube

/// What the controller knows of the cluster: the Pods, Services, EndpointSlices and Namespaces it has listed and
/// watched, each collection with the resourceVersion to resume watching from.
///
/// A pure reducer: ``replace(with:)`` takes a list (the first one, a periodic resync, or the relist after a watch
/// failed with 410 Gone), ``apply(_:)`` one watch event, and ``snapshot()`` turns the whole into the
/// ``MeshSnapshot`` the destination and policy services answer from. It does no I/O, so tests feed it recorded API
/// payloads; ``KubernetesDiscoveryBackend`` drives it from the API server.
public struct KubernetesMeshState: Hashable, Sendable {
    /// One collection: its objects by `namespace/name` (`name` for cluster-scoped ones) and where to resume.
    public struct Collection<Object: Hashable & Sendable>: Hashable, Sendable {
        /// The objects, keyed by ``KubernetesMeshState/key(of:)``.
        public fileprivate(set) var objects: [String: Object] = [:]
        /// The collection's version as of the last list, event or bookmark; `nil` before the first list.
        public fileprivate(set) var resourceVersion: String?
        /// Whether the collection has been listed at least once.
        public fileprivate(set) var hasSynced = false

        public init() {}
    }

    public fileprivate(set) var pods = Collection<Pod>()
    public fileprivate(set) var services = Collection<KubernetesService>()
    public fileprivate(set) var endpointSlices = Collection<EndpointSlice>()
    public fileprivate(set) var namespaces = Collection<Namespace>()

    /// An empty state, synced with nothing.
    public init() {}

    /// Whether all four collections have been listed once: before that a snapshot would be missing objects (and
    /// answer "not meshed" for workloads that are), so nothing is published.
    public var hasSynced: Bool {
        self.pods.hasSynced && self.services.hasSynced && self.endpointSlices.hasSynced && self.namespaces.hasSynced
    }

    /// The key of an object in its collection: `namespace/name`, or `name` for a cluster-scoped object.
    public static func key(of metadata: ObjectMeta) -> String? {
        guard let name = metadata.name, !name.isEmpty else { return nil }
        guard let namespace = metadata.namespace, !namespace.isEmpty else { return name }
        return "\(namespace)/\(name)"
    }

    /// The resourceVersion to resume watching `type`'s collection from.
    public func resourceVersion<Object: MeshStateObject>(of type: Object.Type) -> String? {
        self[keyPath: Object.stateCollection].resourceVersion
    }

    /// Replaces a whole collection with a list's items and takes the list's resourceVersion.
    ///
    /// Objects absent from the list are dropped: that is how deletions missed while a watch was down (after 410
    /// Gone, or between resyncs) are noticed.
    ///
    /// - Parameter list: A list response of the collection.
    /// - Returns: Whether the collection's objects changed.
    @discardableResult
    public mutating func replace<Object: MeshStateObject>(with list: KubernetesList<Object>) -> Bool {
        var objects: [String: Object] = [:]
        for item in list.items {
            guard let key = Self.key(of: item.metadata) else { continue }
            objects[key] = item
        }
        let collection = Object.stateCollection
        let changed = self[keyPath: collection].objects != objects
        self[keyPath: collection].objects = objects
        self[keyPath: collection].resourceVersion = list.metadata.resourceVersion
        self[keyPath: collection].hasSynced = true
        return changed
    }

    /// Applies one watch event: an added or modified object replaces the one with its key, a deleted one is
    /// removed, and a bookmark only moves the resourceVersion.
    ///
    /// - Parameter event: The event, of the collection `Object` belongs to.
    /// - Returns: Whether the collection's objects changed.
    @discardableResult
    public mutating func apply<Object: MeshStateObject>(_ event: WatchEvent<Object>) -> Bool {
        let collection = Object.stateCollection
        switch event {
        case .added(let object), .modified(let object):
            self.move(collection, to: object.metadata.resourceVersion)
            guard let key = Self.key(of: object.metadata) else { return false }
            return self[keyPath: collection].objects.updateValue(object, forKey: key) != object
        case .deleted(let object):
            self.move(collection, to: object.metadata.resourceVersion)
            guard let key = Self.key(of: object.metadata) else { return false }
            return self[keyPath: collection].objects.removeValue(forKey: key) != nil
        case .bookmark(let resourceVersion):
            self.move(collection, to: resourceVersion)
            return false
        }
    }

    private mutating func move<Object>(
        _ collection: WritableKeyPath<KubernetesMeshState, Collection<Object>>,
        to resourceVersion: String?
    ) {
        guard let resourceVersion, !resourceVersion.isEmpty else { return }
        self[keyPath: collection].resourceVersion = resourceVersion
    }
}

/// A Kubernetes object ``KubernetesMeshState`` keeps: it names its metadata and the collection it is kept in.
public protocol MeshStateObject: Decodable, Hashable, Sendable {
    /// The object's metadata (its name, namespace and resourceVersion).
    var metadata: ObjectMeta { get }
    /// Where ``KubernetesMeshState`` keeps objects of this type.
    static var stateCollection: WritableKeyPath<KubernetesMeshState, KubernetesMeshState.Collection<Self>> { get }
}

extension Pod: MeshStateObject {
    public static var stateCollection: WritableKeyPath<KubernetesMeshState, KubernetesMeshState.Collection<Pod>> {
        \.pods
    }
}

extension KubernetesService: MeshStateObject {
    public static var stateCollection:
        WritableKeyPath<KubernetesMeshState, KubernetesMeshState.Collection<KubernetesService>>
    {
        \.services
    }
}

extension EndpointSlice: MeshStateObject {
    public static var stateCollection:
        WritableKeyPath<KubernetesMeshState, KubernetesMeshState.Collection<EndpointSlice>>
    {
        \.endpointSlices
    }
}

extension Namespace: MeshStateObject {
    public static var stateCollection: WritableKeyPath<KubernetesMeshState, KubernetesMeshState.Collection<Namespace>> {
        \.namespaces
    }
}
