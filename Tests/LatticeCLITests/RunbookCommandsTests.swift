import ArgumentParser
import Foundation
import LatticeCLI
import LatticeTestSupport
import Testing

/// Every `lattice …` command in docs/runbook.md and docs/install.md parses: the flags and subcommands are real.
@Suite struct RunbookCommandsTests {
    static func latticeCommands(in relativePath: String) throws -> [String] {
        try DocumentedCommands.commands(inDocument: relativePath).filter { $0.hasPrefix("lattice ") }
    }

    @Test(arguments: ["docs/runbook.md", "docs/install.md"])
    func everyLatticeCommandParses(_ document: String) throws {
        let commands = try Self.latticeCommands(in: document)
        #expect(!commands.isEmpty)
        for command in commands {
            let words = command.split(separator: " ").map(String.init).dropFirst()
            #expect(throws: Never.self, "\(document): \(command)") { _ = try LatticeCommand.parseAsRoot(Array(words)) }
        }
    }
}
