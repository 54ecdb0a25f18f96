import ArgumentParser

/// `lattice`: the operator CLI.
public struct LatticeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lattice",
        abstract: "Lattice: mutual TLS for every pod-to-pod call.",
        subcommands: [CertsCommand.self, IdentityCommand.self]
    )

    public init() {}
}

/// An error the CLI reports as one line naming the problem and what to do; exit status 1.
public struct CLIError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension LatticeCommand {
    /// Parses the process's arguments and runs the chosen command, async or not.
    ///
    /// Called from the executable's `main.swift`; `ParsableCommand.main()` would be chosen there over the async
    /// overload and refuse to run async subcommands.
    public static func runAsRoot() async {
        do {
            var command = try Self.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            Self.exit(withError: error)
        }
    }
}
