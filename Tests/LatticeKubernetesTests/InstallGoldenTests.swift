import FoundationEssentials
import LatticeManifests
import LatticeTestSupport
import Testing

/// `lattice install`'s output for the default and the HA values, against goldens in Fixtures/ with the certificate
/// material (different on every run) masked. Regenerate with `LATTICE_UPDATE_GOLDENS=1 swift test`.
@Suite struct InstallGoldenTests {
    static let masked = ValueTree.string("<masked>")

    static func mask(_ tree: ValueTree, kind: String) -> ValueTree {
        switch kind {
        case "Secret":
            guard let data = tree["data"]?.members else { return tree }
            return tree.merged(with: ["data": .object(data.map { ($0.key, Self.masked) })])
        case "ConfigMap" where tree.value(at: ["data", "ca-bundle.crt"]) != nil:
            return tree.merged(with: ["data": ["ca-bundle.crt": Self.masked]])
        case "MutatingWebhookConfiguration":
            guard case .array(let hooks)? = tree["webhooks"] else { return tree }
            return tree.merged(with: ["webhooks": .array(hooks.map { $0.merged(with: ["clientConfig": ["caBundle": Self.masked]]) })])
        default:
            return tree
        }
    }

    @Test(arguments: [("install-default.yaml", false), ("install-ha.yaml", true)])
    func matchesTheGolden(file: String, highAvailability: Bool) async throws {
        let f = try InstallFixture()
        var tree = InstallValues.defaults.merged(with: ControlPlaneInstall.installDefaults)
        if highAvailability { tree = tree.merged(with: InstallValues.highAvailability) }
        let values = try InstallValues.decode(tree.merged(with: f.credentials))
        let certificates = try WebhookCertificates.generate(namespace: "lattice", validityDays: 365, now: f.now)
        let manifests = try ControlPlaneRenderer(values: values, namespace: "lattice", webhookCertificates: certificates)
            .render()
        let yaml = manifests.map { "---\n" + Self.mask($0.object, kind: $0.kind).yamlDocument() }.joined()
        let path = Repository.path("Tests/LatticeKubernetesTests/Fixtures/\(file)")
        if ProcessInfo.processInfo.environment["LATTICE_UPDATE_GOLDENS"] == "1" {
            try TestFiles.write(yaml, to: path)
        }
        let golden = try TestFiles.read(path)
        #expect(yaml == golden, "lattice install's output changed; if intended, regenerate with LATTICE_UPDATE_GOLDENS=1 (and change the chart the same way)")
    }
}
