import LatticeInjector
import Yams

/// The `akko-mtls` chart's objects: an application release's injection selection as a ConfigMap the controller
/// watches (labelled `lattice.io/mesh-config: "true"`, key `config.yaml` holding only an `inject:` section in
/// ``MeshConfig``'s shape). Strategy A puts the release namespace into `inject.namespaces`; Strategy B lists each
/// service switched on, scoped to the release namespace, selected by `app.kubernetes.io/name: <release>-<svc>`
/// unless `selectors.<svc>` gives labels. Nothing is rendered while `enabled` is false.
public struct MeshInjectionRenderer: Sendable {
    /// The chart's `values.yaml`.
    public static let defaultsYAML = """
        enabled: false
        injectNamespace: false
        selectors: {}
        global:
          serviceMesh:
            inject: {}
            linkerdInject: {}
        """

    public static let defaults: ValueTree = {
        (try? ValueTree.parseYAML(MeshInjectionRenderer.defaultsYAML, source: "akko-mtls values.yaml")) ?? .emptyObject
    }()

    public let release: String
    public let namespace: String

    public init(release: String, namespace: String) {
        self.release = release
        self.namespace = namespace
    }

    /// The ConfigMap's name.
    public var configMapName: String { "\(self.release)-lattice-injection" }

    /// - Parameter values: the user's values (merged onto the chart's defaults here).
    /// - Throws: ``ManifestsError/Code/conflictingStrategies`` for `injectNamespace` with a per-service flag on.
    public func render(_ values: ValueTree) throws(ManifestsError) -> [Manifest] {
        let tree = Self.defaults.merged(with: values)
        try UnknownKeys.check(tree, against: Self.defaults, source: "akko-mtls values")
        let reader = ValueReader(tree: tree)
        guard try reader.bool("enabled") else { return [] }
        let injection = try InjectionValues.decode(reader, targetPrefix: "", namespace: self.namespace, release: self.release)
        let selection = try injection.selection(namespaceKey: "the release namespace")
        let yaml: String
        do {
            yaml = try YAMLEncoder().encode(Section(inject: selection))
        } catch {
            throw ManifestsError(.invalidValue, "cannot write the injection selection: \(error)")
        }
        return [
            Manifest(
                apiVersion: "v1", kind: "ConfigMap", name: self.configMapName, namespace: self.namespace,
                labels: [
                    "app.kubernetes.io/part-of": "lattice", "app.kubernetes.io/component": "mesh-config",
                    "app.kubernetes.io/instance": .string(self.release), ControlPlaneNames.meshConfigLabel: "true",
                ],
                body: [("data", [MeshConfig.configMapKey: .string(yaml)])]
            )
        ]
    }

    struct Section: Encodable {
        let inject: MeshConfig.InjectionSelection
    }
}
