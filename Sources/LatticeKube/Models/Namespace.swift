/// A Namespace (`core/v1`): the mesh reads only its metadata (the `lattice.io/inject` annotation and labels).
public struct Namespace: Codable, Sendable, Hashable {
    /// The Namespace's metadata.
    public var metadata: ObjectMeta
    /// The Namespace's observed state.
    public var status: NamespaceStatus?

    /// Creates a Namespace.
    public init(metadata: ObjectMeta, status: NamespaceStatus? = nil) {
        self.metadata = metadata
        self.status = status
    }
}

/// A Namespace's observed state (`core/v1` `NamespaceStatus`).
public struct NamespaceStatus: Codable, Sendable, Hashable {
    /// `Active` or `Terminating`.
    public var phase: String?

    /// Creates a Namespace status.
    public init(phase: String? = nil) {
        self.phase = phase
    }
}
