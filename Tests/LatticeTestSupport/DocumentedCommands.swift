import Foundation

/// The shell commands a document shows: the lines of its ```sh blocks, comments dropped (whole-line `#`, and a
/// trailing `  # …`), continuation lines (`\`) joined, and only the first stage of a pipeline kept.
public enum DocumentedCommands {
    /// The path of `relativePath` from the repository's root (this file sits at Tests/LatticeTestSupport/).
    public static func repositoryPath(_ relativePath: String) -> String {
        var url = URL(filePath: #filePath)
        for _ in 0..<3 { url = url.deletingLastPathComponent() }
        return url.appending(path: relativePath).path
    }

    public static func commands(inDocument relativePath: String) throws -> [String] {
        self.commands(inMarkdown: try TestFiles.read(self.repositoryPath(relativePath)))
    }

    public static func commands(inMarkdown text: String) -> [String] {
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
            commands.append((current + code).components(separatedBy: " | ").first!)
            current = ""
        }
        return commands
    }
}
