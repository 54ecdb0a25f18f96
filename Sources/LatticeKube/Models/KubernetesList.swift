/// A list response (`PodList`, `EndpointSliceList`, …): the items plus the list's metadata.
///
/// Watch from ``ListMeta/resourceVersion`` to receive every change after the list.
public struct KubernetesList<Item> {
    /// The list's metadata.
    public var metadata: ListMeta
    /// The items; the API serves `null` for an empty list, which decodes as empty.
    public var items: [Item]

    /// Creates a list.
    public init(metadata: ListMeta = ListMeta(), items: [Item]) {
        self.metadata = metadata
        self.items = items
    }
}

extension KubernetesList: Sendable where Item: Sendable {}
extension KubernetesList: Equatable where Item: Equatable {}
extension KubernetesList: Hashable where Item: Hashable {}

private enum KubernetesListCodingKeys: String, CodingKey {
    case metadata
    case items
}

extension KubernetesList: Decodable where Item: Decodable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: KubernetesListCodingKeys.self)
        self.metadata = try container.decodeIfPresent(ListMeta.self, forKey: .metadata) ?? ListMeta()
        self.items = try container.decodeIfPresent([Item].self, forKey: .items) ?? []
    }
}

extension KubernetesList: Encodable where Item: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: KubernetesListCodingKeys.self)
        try container.encode(self.metadata, forKey: .metadata)
        try container.encode(self.items, forKey: .items)
    }
}

/// The metadata of a list response (`meta/v1` `ListMeta`).
public struct ListMeta: Codable, Sendable, Hashable {
    /// The version of the collection this list was read at; start a watch from here.
    public var resourceVersion: String?
    /// The token for the next page when the list was requested with a limit, if there are more items.
    public var `continue`: String?

    /// Creates list metadata.
    public init(resourceVersion: String? = nil, continue: String? = nil) {
        self.resourceVersion = resourceVersion
        self.continue = `continue`
    }
}
