import ArgumentParser

extension AsyncParsableCommand {
    /// Parses the process's arguments and runs the chosen command, async or not.
    ///
    /// Called from an executable's `main.swift`: there `ParsableCommand.main()` would be picked over the async
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
