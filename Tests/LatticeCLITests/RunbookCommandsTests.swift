import ArgumentParser
import Foundation
import LatticeCLI
import LatticeTestSupport
import Testing

/// Every `lattice …` command in docs/runbook.md and docs/install.md parses: the flags and subcommands are real.
@Suite struct RunbookCommandsTests {
    static func latticeCommands(in relativePath: String) throws -> [String] {
        var url = URL(filePath: #filePath)
        for _ in 0..<3 { url = url.deletingLastPathComponent() }
        let text = try TestFiles.read(url.appending(path: relativePath).path)
        var commands: [String] = []
        var inShell = false
        var current = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                inShell = line == "```sh"
                continue
            }
            guard inShell else { continue }
            var code = line.trimmingCharacters(in: .whitespaces)
            if code.hasPrefix("#") || code.isEmpty { continue }
            if let comment = code.range(of: "  #") { code = code[..<comment.lowerBound].trimmingCharacters(in: .whitespaces) }
            if code.hasSuffix("\\") {
                current += code.dropLast() + " "
                continue
            }
            let command = (current + code).components(separatedBy: " | ").first!
            current = ""
            if command.hasPrefix("lattice ") { commands.append(command) }
        }
        return commands
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
