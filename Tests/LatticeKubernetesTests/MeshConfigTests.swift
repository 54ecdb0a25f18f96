import LatticeInjector
import Testing
import Yams

@Suite struct MeshConfigTests {
    @Test func aPartialConfigKeepsTheDefaultsOfWhatItLeavesOut() throws {
        let yaml = """
            proxy:
              uid: 2200
              resources: {memoryLimit: 96Mi}
            inject:
              services:
                - name: trino
                  matchLabels: {app.kubernetes.io/name: akko-trino}
            """
        let config = try YAMLDecoder().decode(MeshConfig.self, from: yaml)
        #expect(config.proxy.uid == 2200)
        #expect(config.proxy.inboundPort == 4143)
        #expect(config.proxy.resources.memoryLimit == "96Mi")
        #expect(config.proxy.resources.memoryRequest == nil)
        #expect(config.controller == MeshConfig.ControllerSettings())
        #expect(config.inject.services == [.init(name: "trino", matchLabels: ["app.kubernetes.io/name": "akko-trino"])])
        #expect(config.inject.namespaces.isEmpty)
        #expect(config.defaultInboundPolicy == "all-unauthenticated")
    }

    @Test func anEmptyDocumentIsTheDefaults() throws {
        #expect(try YAMLDecoder().decode(MeshConfig.self, from: "{}") == MeshConfig())
    }
}
