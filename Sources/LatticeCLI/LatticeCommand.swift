import ArgumentParser

/// `lattice`: the operator CLI.
public struct LatticeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lattice",
        abstract: "Lattice: mutual TLS for every pod-to-pod call.",
        subcommands: [CertsCommand.self, InstallCommand.self, IdentityCommand.self, DemoCommand.self, CheckCommand.self, StatCommand.self, EdgesCommand.self, TapCommand.self, SampleAppCommand.self, InjectCommand.self, UninjectCommand.self]
    )

    public init() {}
}

/// An error the CLI reports as one line naming the problem and what to do; exit status 1.
public struct CLIError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
