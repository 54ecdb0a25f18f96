/// A ConfigMap (`core/v1`): the mesh reads its metadata and string data (the mesh configuration), and writes the
/// trust-anchor copies.
public struct ConfigMap: Codable, Sendable, Hashable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var data: [String: String]?

    public init(metadata: ObjectMeta, data: [String: String]? = nil) {
        self.metadata = metadata
        self.data = data
    }
}
