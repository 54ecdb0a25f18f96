import Foundation
import LatticeManifests
import LatticeTestSupport
import Testing

/// `lattice install --set` parses as Helm's own `strvals` does (through helm-python-sdk), and the runbook's Helm and
/// `lattice` commands name keys the charts have.
@Suite(.serialized) struct HelmSemanticsTests {
    static let expressions = [
        "a=true,b=False,c=42,d=042,e=1.5,f=-7,g=text,h=0",
        #"a={x,y},b[1]=second,c=one\,two"#,
        "d[0].key=k,d[0].other=o",
        #"x.y\.z=1"#,
        "n=null",
        "a=",
        "big=12345678901234567890",
        "a.b=1,a.c=2,a.b=3",
        "proxy.resources.requests.memory=64Mi,controller.replicas=3",
        "global.serviceMesh.linkerdInject.aden=true",
        "list={}",
    ]

    @Test func setParsesAsHelmParsesIt() async throws {
        try await ChartTool.withTool { tool in
            let path = try tool.file("expressions.json", ChartTool.canonical(Self.expressions))
            let output = try tool.run(["strvals", path])
            let helm = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
            #expect(helm.count == Self.expressions.count)
            for (expression, answer) in zip(Self.expressions, helm) {
                let parsed = try #require(answer["parsed"], "Helm refused \(expression): \(answer)")
                var tree = ValueTree.emptyObject
                for assignment in try SetArgument.parse(expression, kind: .typed) {
                    tree.set(assignment.value, at: assignment.path)
                }
                #expect(ChartTool.canonical(tree.any) == ChartTool.canonical(parsed), "--set \(expression)")
            }
        }
    }

    /// The runbook's shell commands, with continuation lines joined.
    static func runbookCommands() throws -> [String] {
        try DocumentedCommands.commands(inDocument: "docs/runbook.md")
    }

    @Test func theRunbooksControlPlaneHelmCommandsSetKeysTheChartHas() throws {
        let commands = try Self.runbookCommands().filter { $0.contains("charts/lattice-control-plane") && $0.hasPrefix("helm ") }
        #expect(commands.count >= 2, "install and the issuer renewal")
        for command in commands {
            let words = command.split(separator: " ").map(String.init)
            for (flag, value) in zip(words, words.dropFirst()) where flag == "--set-file" || flag == "--set" {
                let key = String(value.prefix { $0 != "=" })
                let path = key.split(separator: ".").map(String.init)
                #expect(InstallValues.defaults.value(at: path) != nil, "\(command): \(key) is not a chart value")
            }
        }
    }

    @Test func theRunbooksAkkoFlagsAreTheSubChartsValues() throws {
        for command in try Self.runbookCommands() where command.hasPrefix("helm upgrade akko") {
            let words = command.split(separator: " ").map(String.init)
            for (flag, value) in zip(words, words.dropFirst()) where flag == "--set" {
                let key = String(value.prefix { $0 != "=" })
                var path = key.split(separator: ".").map(String.init)
                if path.first == "akko-mtls" { path.removeFirst() }
                if path.first == "global" { path = Array(path.prefix(3)) }
                #expect(MeshInjectionRenderer.defaults.value(at: path) != nil, "\(command): \(key)")
            }
        }
    }
}
