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

@Suite struct MeshConfigValidationTests {
    @Test func theDefaultsHaveNoProblems() {
        #expect(MeshConfig().problems.isEmpty)
    }

    @Test func everyUnusableValueIsNamed() throws {
        let yaml = """
            proxy:
              uid: 0
              adminPort: 4143
              logLevel: loud
              opaquePorts: "3306,mysql"
              resources: {memoryLimit: lots}
            defaultInboundPolicy: allow-all
            clusterNetworks: [10.0.0.0/8, cluster]
            controller: {address: nowhere}
            inject:
              services: [{name: trino, matchLabels: {}}]
            """
        let problems = try YAMLDecoder().decode(MeshConfig.self, from: yaml).problems
        let expected = [
            "proxy.inboundPort, outboundPort and adminPort must differ", "proxy.uid 0", "proxy.logLevel 'loud'",
            "proxy.opaquePorts: 'mysql'", "proxy.resources.memoryLimit 'lots'", "defaultInboundPolicy 'allow-all'",
            "clusterNetworks: 'cluster'", "controller.address 'nowhere'", "inject.services 'trino' has no matchLabels",
        ]
        for prefix in expected {
            #expect(problems.contains { $0.hasPrefix(prefix) }, "\(prefix) not in \(problems)")
        }
        #expect(problems.count == expected.count, "\(problems)")
    }
}
