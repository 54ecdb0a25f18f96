import LatticeInjector
import LatticeManifests
import Testing
import Yams

@Suite struct InjectionSelectionTests {
    let renderer = MeshInjectionRenderer(release: "akko", namespace: "akko")

    func selection(_ values: ValueTree) throws -> MeshConfig.InjectionSelection? {
        guard let manifest = try self.renderer.render(values).first else { return nil }
        guard case .string(let yaml)? = manifest.object.value(at: ["data", "config.yaml"]) else {
            throw TestFailure("no config.yaml in \(manifest.object)")
        }
        return try YAMLDecoder().decode(MeshConfig.self, from: yaml).inject
    }

    @Test func disabledRendersNothing() throws {
        #expect(try self.renderer.render(["global": ["serviceMesh": ["linkerdInject": ["aden": true]]]]).isEmpty)
    }

    @Test func strategyAMeshesTheReleaseNamespace() throws {
        let selection = try self.selection(["enabled": true, "injectNamespace": true])
        #expect(selection == MeshConfig.InjectionSelection(namespaces: ["akko"]))
    }

    @Test func strategyBSelectsEachServiceOnUnderEitherSpelling() throws {
        let selection = try self.selection([
            "enabled": true,
            "selectors": ["trino": ["app.kubernetes.io/name": "trino", "app.kubernetes.io/instance": "akko"]],
            "global": [
                "serviceMesh": [
                    "linkerdInject": ["aden": true, "keycloak": false, "postgres": false],
                    "inject": ["trino": true],
                ]
            ],
        ])
        #expect(
            selection?.services == [
                .init(name: "aden", namespace: "akko", matchLabels: ["app.kubernetes.io/name": "akko-aden"]),
                .init(
                    name: "trino",
                    namespace: "akko",
                    matchLabels: ["app.kubernetes.io/name": "trino", "app.kubernetes.io/instance": "akko"]
                ),
            ]
        )
        #expect(selection?.namespaces == [])
    }

    @Test func theConfigMapIsLabelledForTheController() throws {
        let manifest = try #require(try self.renderer.render(["enabled": true]).first)
        #expect(manifest.kind == "ConfigMap")
        #expect(manifest.namespace == "akko")
        #expect(manifest.object.value(at: ["metadata", "labels", "lattice.io/mesh-config"]) == "true")
        let yaml = try #require(manifest.object.value(at: ["data", "config.yaml"]))
        guard case .string(let text) = yaml else { throw TestFailure("config.yaml is not text") }
        let section = try ValueTree.parseYAML(text, source: "config.yaml")
        #expect(section.members?.map(\.key) == ["inject"], "only an inject: section")
    }

    @Test func bothStrategiesAreRefusedNamingTheFlagsAndTheWayForward() throws {
        let error = #expect(throws: ManifestsError.self) {
            try self.renderer.render([
                "enabled": true, "injectNamespace": true,
                "global": ["serviceMesh": ["linkerdInject": ["aden": true, "trino": false], "inject": ["keycloak": true]]],
            ])
        }
        #expect(error?.code == .conflictingStrategies)
        #expect(
            error?.reason
                == "injectNamespace: true and per-service injection (global.serviceMesh.inject.keycloak, "
                + "global.serviceMesh.linkerdInject.aden) are both on; pick one strategy, never both. To move to "
                + "namespace-wide injection, turn the per-service flags off in the same upgrade: "
                + "--set global.serviceMesh.inject.keycloak=false --set global.serviceMesh.linkerdInject.aden=false"
        )
    }

    @Test func flagsThatAreOffDoNotConflict() throws {
        let selection = try self.selection([
            "enabled": true, "injectNamespace": true,
            "global": ["serviceMesh": ["linkerdInject": ["aden": false]]],
        ])
        #expect(selection == MeshConfig.InjectionSelection(namespaces: ["akko"]))
    }

    @Test func theControlPlaneValuesNeedANamespaceForTheirFlags() throws {
        let error = #expect(throws: ManifestsError.self) {
            try InstallFixture().values(["global": ["serviceMesh": ["inject": ["aden": true]]]]).injection
                .selection(namespaceKey: "injectTarget.namespace")
        }
        #expect(error?.reason.contains("--set injectTarget.namespace=akko") == true)
    }
}
