import ArgumentParser

/// `lattice certs`: make, inspect and verify the mesh's certificates (the runbook's `step certificate` steps).
public struct CertsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "certs",
        abstract: "Create, inspect and verify trust anchors, issuers and workload certificates.",
        subcommands: [CertsCreateCommand.self, CertsInspectCommand.self, CertsVerifyCommand.self]
    )

    public init() {}
}
