/// One Kubernetes object, rendered: its identifying fields and the whole object as a tree.
public struct Manifest: Sendable, Equatable {
    public let apiVersion: String
    public let kind: String
    public let name: String
    /// Nil for cluster-scoped objects.
    public let namespace: String?
    public let object: ValueTree

    public init(apiVersion: String, kind: String, name: String, namespace: String?, labels: ValueTree, annotations: ValueTree? = nil, body: [(String, ValueTree?)]) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.namespace = namespace
        let metadata = ValueTree.compact([
            ("name", .string(name)), ("namespace", namespace.map(ValueTree.string)), ("labels", labels),
            ("annotations", annotations),
        ])
        self.object = .compact([("apiVersion", .string(apiVersion)), ("kind", .string(kind)), ("metadata", metadata)] + body)
    }

    /// The object as one YAML document, with a leading `---`.
    public var yaml: String { "---\n" + self.object.yamlDocument() }
}

extension Array where Element == Manifest {
    /// Every object as a multi-document YAML stream.
    public var yaml: String { self.map(\.yaml).joined() }
}
