import FoundationEssentials
import LatticeInjector
import LatticeManifests
import LatticeModel
import LatticeTestSupport
import Testing

@Suite struct InstallValuesTests {
    @Test func theSwiftDefaultsAreTheChartsValuesFiles() throws {
        let files = [
            ("charts/lattice-control-plane/values.yaml", InstallValues.defaults),
            ("charts/lattice-control-plane/values-ha.yaml", InstallValues.highAvailability),
            ("charts/akko-mtls/values.yaml", MeshInjectionRenderer.defaults),
        ]
        for (path, swift) in files {
            let chart = try ValueTree.parseYAML(try TestFiles.read(Repository.path(path)), source: path)
            #expect(chart == swift, "\(path) and LatticeManifests' copy differ: update both")
            #expect(swift != .emptyObject)
        }
    }

    @Test func theDefaultsDecodeToTheMeshConfigDefaults() throws {
        let values = try InstallFixture().values()
        #expect(values.proxy == MeshConfig.ProxySettings(image: values.proxy.image, initImage: values.proxy.initImage))
        #expect(values.proxy.image.hasSuffix(":\(LatticeVersion.current)"))
        #expect(values.controller.replicas == 1)
        #expect(values.webhook.failurePolicy == "Ignore")
        #expect(values.clusterNetworks == MeshConfig().clusterNetworks)
        #expect(values.defaultInboundPolicy == MeshConfig().defaultInboundPolicy)
    }

    @Test func theHAValuesRunThreeReplicasWithABudgetAndFailClosed() throws {
        let values = try InstallFixture().values(InstallValues.highAvailability)
        #expect(values.controller.replicas == 3)
        #expect(values.controller.podDisruptionBudget)
        #expect(values.controller.antiAffinity)
        #expect(values.webhook.failurePolicy == "Fail")
    }

    @Test func filesThenSetThenSetFileMergeInHelmsOrder() async throws {
        try await TestFiles.withDirectory { directory in
            try TestFiles.write("proxy:\n  logLevel: debug\n  uid: 3000\n", to: "\(directory)/one.yaml")
            try TestFiles.write("proxy:\n  uid: 3100\ncontroller:\n  replicas: 2\n", to: "\(directory)/two.yaml")
            try TestFiles.write("quay.io/me/proxy:1", to: "\(directory)/image.txt")
            let layers = ValuesLayers(
                files: ["\(directory)/one.yaml", "\(directory)/two.yaml"],
                set: ["controller.replicas=4,proxy.logLevel=warning"],
                setFile: ["proxy.image=\(directory)/image.txt"]
            )
            let tree = try layers.merge(onto: InstallValues.defaults)
            #expect(tree.value(at: ["proxy", "uid"]) == 3100)
            #expect(tree.value(at: ["proxy", "logLevel"]) == "warning")
            #expect(tree.value(at: ["controller", "replicas"]) == 4)
            #expect(tree.value(at: ["proxy", "image"]) == "quay.io/me/proxy:1")
            #expect(tree.value(at: ["proxy", "opaquePorts"]) == InstallValues.defaults.value(at: ["proxy", "opaquePorts"]))
        }
    }

    @Test func aTypoIsRefusedNamingTheKeyAndItsSiblings() throws {
        let error = #expect(throws: ManifestsError.self) {
            try InstallFixture().values(["proxy": ["resource": ["requests": ["memory": "64Mi"]]]])
        }
        #expect(error?.code == .unknownKey)
        #expect(error?.reason.contains("'proxy.resource'") == true)
        #expect(error?.reason.contains("resources") == true)
    }

    @Test func wrongTypesAndRangesNameTheKey() throws {
        let cases: [(ValueTree, String)] = [
            (["controller": ["replicas": 0]], "controller.replicas"),
            (["controller": ["replicas": "three"]], "controller.replicas"),
            (["webhook": ["failurePolicy": "Maybe"]], "webhook.failurePolicy"),
            (["proxy": ["nativeSidecar": "sometimes"]], "proxy.nativeSidecar"),
            (["proxy": ["resources": ["requests": ["memory": "lots"]]]], "proxy.resources.requests.memory"),
            (["proxy": ["opaquePorts": "70000"]], "proxy.opaquePorts"),
            (["clusterNetworks": "10.0.0.0/33"], "clusterNetworks"),
            (["identity": ["issuer": ["issuanceLifetime": "soon"]]], "identity.issuer.issuanceLifetime"),
            (["defaultInboundPolicy": "everyone"], "defaultInboundPolicy"),
            (["controller": ["podDisruptionBudget": ["enabled": true]]], "controller.replicas"),
        ]
        for (overlay, key) in cases {
            let error = #expect(throws: ManifestsError.self) { try InstallFixture().values(overlay) }
            #expect(error?.code == .invalidValue)
            #expect(error?.reason.contains(key) == true, "\(error?.reason ?? "") should name \(key)")
        }
    }

    @Test func aBooleanNativeSidecarFromSetIsAccepted() throws {
        var tree = InstallValues.defaults.merged(with: try InstallFixture().credentials)
        tree = try ValuesLayers(set: ["proxy.nativeSidecar=true"]).merge(onto: tree)
        #expect(try InstallValues.decode(tree).proxy.nativeSidecar == .true)
    }
}

@Suite struct UmbrellaValuesTests {
    @Test func globalsOfAnUmbrellaChartAreLeftAlone() throws {
        let values = try InstallFixture().values([
            "global": ["domain": "akko.example", "serviceMesh": ["linkerdInject": ["aden": false], "mode": "sidecar"]],
        ])
        #expect(values.injection.linkerdInject == [.init(name: "aden", isOn: false)])
        let injection = try MeshInjectionRenderer(release: "akko", namespace: "akko").render([
            "enabled": true, "global": ["storageClass": "fast"],
        ])
        #expect(injection.count == 1)
    }

    @Test func aFlagThatIsNotABooleanIsRefused() throws {
        let error = #expect(throws: ManifestsError.self) {
            try InstallFixture().values(["global": ["serviceMesh": ["inject": ["aden": "yes"]]]])
        }
        #expect(error?.reason.contains("global.serviceMesh.inject.aden") == true)
    }
}
