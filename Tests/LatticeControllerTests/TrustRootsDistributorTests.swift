import LatticeController
import LatticeIdentity
import LatticeKube
import LatticeTestSupport
import Logging
import Synchronization
import Testing

/// ConfigMaps in memory, as the API server would keep them (resourceVersion bumped on every write).
final class MemoryConfigMaps: ConfigMapStore {
    let maps = Mutex<[String: ConfigMap]>([:])
    let writes = Mutex<[String]>([])
    let failing = Mutex<Set<String>>([])

    func configMap(namespace: String, name: String) async throws -> ConfigMap? {
        if self.failing.withLock({ $0.contains(namespace) }) { throw KubernetesError(code: .forbidden, reason: "configmaps is forbidden") }
        return self.maps.withLock { $0["\(namespace)/\(name)"] }
    }
    func create(_ configMap: ConfigMap, namespace: String) async throws {
        try self.write(configMap, namespace: namespace, verb: "create")
    }
    func replace(_ configMap: ConfigMap, namespace: String) async throws {
        try self.write(configMap, namespace: namespace, verb: "replace")
    }
    private func write(_ configMap: ConfigMap, namespace: String, verb: String) throws {
        let key = "\(namespace)/\(configMap.metadata.name ?? "")"
        try self.maps.withLock { maps in
            if verb == "create", maps[key] != nil { throw KubernetesError(code: .conflict, reason: "already exists") }
            var stored = configMap
            stored.metadata.resourceVersion = String(Int(maps[key]?.metadata.resourceVersion ?? "0")! + 1)
            maps[key] = stored
        }
        self.writes.withLock { $0.append("\(verb) \(key)") }
    }
}

@Suite struct TrustRootsDistributorTests {
    @Test func everyMeshableNamespaceGetsTheCurrentAnchorsAndOnlyThem() async throws {
        let configMaps = MemoryConfigMaps()
        let first = try CertFactory()
        let anchors = Mutex<TrustBundle>(first.bundle)
        let namespaces: [(name: String, labels: [String: String])] = [
            ("default", [:]), ("akko", [:]), ("kube-system", [:]), ("lattice", [:]),
            ("legacy", ["config.lattice.io/admission-webhooks": "disabled"]),
        ]
        let distributor = TrustRootsDistributor(
            store: configMaps,
            namespaces: { namespaces },
            anchors: { anchors.withLock { $0 } },
            controlPlaneNamespace: "lattice",
            interval: .seconds(60),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        #expect(await distributor.distribute().sorted() == ["akko", "default"])
        let copy = try #require(configMaps.maps.withLock { $0["akko/lattice-identity-trust-roots"] })
        #expect(copy.data?["ca-bundle.crt"] == CertificateLoader.pem(first.bundle.anchors))
        #expect(copy.metadata.labels?["app.kubernetes.io/managed-by"] == "lattice-controller")
        // Nothing changed: nothing written (and nothing read: confirmed copies are not asked again each round).
        #expect(await distributor.distribute().isEmpty)
        #expect(configMaps.writes.withLock { $0.count } == 2)

        // An anchor rotation (new bundle: old + new) reaches every copy; a namespace the controller may not write
        // to is reported and retried next round, not lost.
        let second = try CertFactory(anchorName: "root-2026.lattice.test")
        let rotated = try TrustBundle(anchors: first.bundle.anchors + second.bundle.anchors)
        anchors.withLock { $0 = rotated }
        configMaps.failing.withLock { $0 = ["default"] }
        #expect(await distributor.distribute() == ["akko"])
        configMaps.failing.withLock { $0 = [] }
        #expect(await distributor.distribute() == ["default"])
        for namespace in ["default", "akko"] {
            let map = try #require(configMaps.maps.withLock { $0["\(namespace)/lattice-identity-trust-roots"] })
            #expect(map.data?["ca-bundle.crt"] == CertificateLoader.pem(rotated.anchors))
            #expect(map.metadata.resourceVersion == "2")
        }
        #expect(configMaps.maps.withLock { $0.keys.filter { $0.hasPrefix("kube-system/") || $0.hasPrefix("lattice/") || $0.hasPrefix("legacy/") } }.isEmpty)
    }

    @Test func nothingIsWrittenBeforeTheAnchorsAndNamespacesAreKnown() async throws {
        let configMaps = MemoryConfigMaps()
        let distributor = TrustRootsDistributor(
            store: configMaps, namespaces: { nil }, anchors: { try? CertFactory().bundle }, controlPlaneNamespace: "lattice",
            interval: .seconds(60), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        #expect(await distributor.distribute().isEmpty)
        #expect(configMaps.writes.withLock { $0.isEmpty })
    }
}
