import ArgumentParser
import Foundation

/// `lattice uninject FILE…`: removes what `lattice inject` (either way) added.
public struct UninjectCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "uninject",
        abstract: "Remove Lattice from the workloads of Kubernetes manifests ('-' reads stdin).",
        discussion: """
            Removes the lattice-init and lattice-proxy containers, their volumes, Lattice's status annotations and \
            label, and lattice.io/inject: enabled. Documents that are not workloads are written back exactly as they were.
            """
    )

    @Argument(help: "Manifest files, or - for standard input.")
    var files: [String]

    public init() {}

    public func run() throws {
        let result = try self.execute(read: ManifestInput.read)
        FileHandle.standardError.write(Data(result.reports.utf8))
        FileHandle.standardOutput.write(Data(result.output.utf8))
    }

    public func execute(read: (String) throws -> String) throws -> (output: String, reports: String) {
        try ManifestInput.transform(self.files, with: ManifestTransformer(operation: .uninject), read: read)
    }
}
