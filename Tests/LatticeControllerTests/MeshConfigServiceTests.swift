import Foundation
import LatticeController
import LatticeInjector
import LatticeKube
import LatticeTestSupport
import Logging
import Synchronization
import Testing

/// A Kubernetes API serving the label-selected ConfigMap list from a body as the API server sends it.
final class FakeConfigMapAPI: KubernetesAPI, Sendable {
    let body = Mutex<String?>(nil)
    let selectors = Mutex<[String?]>([])

    func createTokenReview(token: String, audiences: [String]) async throws -> TokenReviewStatus {
        throw KubernetesError(code: .forbidden, reason: "not in fake")
    }
    func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        throw KubernetesError(code: .notFound, reason: "not in fake")
    }
    func list<Item: Decodable>(_ path: String, of type: Item.Type, options: ListOptions) async throws -> KubernetesList<Item> {
        self.selectors.withLock { $0.append(options.labelSelector) }
        guard path == MeshConfigService.configMapsPath, let body = self.body.withLock({ $0 }) else {
            throw KubernetesError(code: .transport, reason: "the API server is away")
        }
        return try JSONDecoder().decode(KubernetesList<Item>.self, from: Data(body.utf8))
    }
    func watch<Object: Decodable & Sendable>(
        _ path: String, as type: Object.Type, resourceVersion: String?, options: WatchOptions
    ) -> AsyncThrowingStream<WatchEvent<Object>, any Error> {
        AsyncThrowingStream { $0.finish() }
    }
    func serverVersion() async throws -> ServerVersion { ServerVersion(major: 1, minor: 29) }
}

@Suite struct MeshConfigServiceTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// As `GET /api/v1/configmaps?labelSelector=lattice.io/mesh-config=true` serves it: the akko-mtls chart's
    /// selection in `akko` (per service), one in `team-b` that tries to opt in another namespace, `lattice-config`
    /// itself (labelled too: the base, read from the file, not again as a selection), one without the key.
    static let listBody = #"""
        {"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"81234"},"items":[
          {"metadata":{"name":"akko-mtls-injection","namespace":"akko","uid":"6a1b","resourceVersion":"81200",
            "labels":{"lattice.io/mesh-config":"true","app.kubernetes.io/managed-by":"Helm"},
            "annotations":{"meta.helm.sh/release-name":"akko","meta.helm.sh/release-namespace":"akko"}},
           "data":{"config.yaml":"inject:\n  services:\n    - name: trino\n      matchLabels:\n        app.kubernetes.io/name: akko-trino\n    - name: opa\n      namespace: kube-system\n      matchLabels:\n        app.kubernetes.io/name: akko-opa\n"}},
          {"metadata":{"name":"team-b-mesh","namespace":"team-b","uid":"7c2d","resourceVersion":"81210",
            "labels":{"lattice.io/mesh-config":"true"}},
           "data":{"config.yaml":"inject:\n  namespaces: [team-b, kube-system]\n"}},
          {"metadata":{"name":"lattice-config","namespace":"lattice","uid":"9a4b","resourceVersion":"81190",
            "labels":{"lattice.io/mesh-config":"true"}},
           "data":{"config.yaml":"inject:\n  namespaces: [lattice]\n  services:\n    - {name: x, matchLabels: {a: b}}\n"}},
          {"metadata":{"name":"empty","namespace":"team-c","uid":"8e3f","resourceVersion":"81220",
            "labels":{"lattice.io/mesh-config":"true"}}}
        ]}
        """#

    @Test func labelledConfigMapsAddSelectionsForTheirOwnNamespaceOnly() async throws {
        try await TestFiles.withDirectory { directory in
            let path = "\(directory)/config.yaml"
            try TestFiles.write("proxy:\n  uid: 2200\ninject:\n  namespaces: [analytics]\n", to: path)
            let api = FakeConfigMapAPI()
            api.body.withLock { $0 = Self.listBody }
            let service = try MeshConfigService(path: path, api: api, interval: .seconds(60), logger: Self.quiet)
            await service.refresh()
            let config = service.current
            #expect(api.selectors.withLock { $0 } == ["lattice.io/mesh-config=true"])
            #expect(config.proxy.uid == 2200)
            // team-b may opt in itself, never kube-system.
            #expect(config.inject.namespaces == ["analytics", "team-b"])
            // Service selectors are scoped to their ConfigMap's namespace, whatever they say.
            #expect(config.inject.services.map(\.namespace) == ["akko", "akko"])
            #expect(config.inject.services.map(\.name) == ["trino", "opa"])

            // The API server away: the selections in force stay (workloads must not be un-selected).
            api.body.withLock { $0 = nil }
            await service.refresh()
            #expect(service.current == config)

            // A broken file keeps the last good configuration; a fixed one is picked up.
            try TestFiles.write("proxy: [not, a, map]\n", to: path)
            api.body.withLock { $0 = Self.listBody }
            await service.refresh()
            #expect(service.current.proxy.uid == 2200)
            try TestFiles.write("proxy:\n  uid: 2300\n", to: path)
            await service.refresh()
            #expect(service.current.proxy.uid == 2300)
            #expect(service.current.inject.namespaces == ["team-b"])
        }
    }

    @Test func aBrokenConfigurationFailsTheStartNamingTheKey() async throws {
        try await TestFiles.withDirectory { directory in
            let path = "\(directory)/config.yaml"
            try TestFiles.write("proxy:\n  uid: lots\n", to: path)
            #expect {
                _ = try MeshConfigService(path: path, api: nil, interval: .seconds(1), logger: Self.quiet)
            } throws: { error in
                "\(error)".contains(path) && "\(error)".contains("proxy.uid")
            }
            try TestFiles.write("proxy:\n  inboundPort: 70000\n", to: path)
            #expect {
                _ = try MeshConfigService(path: path, api: nil, interval: .seconds(1), logger: Self.quiet)
            } throws: { error in
                "\(error)".contains("proxy.inboundPort 70000 is not a port")
            }
            #expect {
                _ = try MeshConfigService(path: "\(directory)/missing.yaml", api: nil, interval: .seconds(1), logger: Self.quiet)
            } throws: { error in
                "\(error)".contains("mount the lattice-config ConfigMap")
            }
        }
    }

    @Test func nativeSidecarAcceptsAYAMLBoolean() throws {
        #expect(try MeshConfig.parse("proxy: {nativeSidecar: true}", source: "t").proxy.nativeSidecar == .true)
        #expect(try MeshConfig.parse("proxy: {nativeSidecar: auto}", source: "t").proxy.nativeSidecar == .auto)
        #expect(throws: MeshConfigError.self) { try MeshConfig.parse("proxy: {nativeSidecar: sometimes}", source: "t") }
    }
}
