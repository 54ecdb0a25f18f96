import ArgumentParser
import Foundation

/// The options every command that reads a running local mesh shares: where its demo.json is, and the output format.
struct MeshOptions: ParsableArguments {
    @Option(help: "State folder of the running mesh (holds demo.json).")
    var state: String = MeshOptions.defaultState

    @Option(help: "table or json.")
    var output: String = "table"

    static let defaultState = (NSTemporaryDirectory() as NSString).appendingPathComponent("lattice-demo")

    var json: Bool { self.output == "json" }

    func validate() throws {
        guard ["table", "json"].contains(self.output) else { throw ValidationError("--output must be table or json") }
    }

    func manifest() throws -> DemoManifest {
        try DemoManifest.read(stateDirectory: (self.state as NSString).standardizingPath)
    }
}
