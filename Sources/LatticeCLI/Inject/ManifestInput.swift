import Foundation

/// Reading inputs and joining outputs, shared by inject and uninject.
enum ManifestInput {
    /// A file's text, or standard input's for `-`.
    static func read(_ path: String) throws -> String {
        if path == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard let text = String(data: data, encoding: .utf8) else { throw CLIError("standard input is not UTF-8 text") }
            return text
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("\(path): cannot be read (no such file, or no permission)")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError("\(path): not UTF-8 text") }
        return text
    }

    static func transform(
        _ files: [String],
        with transformer: ManifestTransformer,
        read: (String) throws -> String
    ) throws -> (output: String, reports: String) {
        var output = ""
        var reports = ""
        for (i, file) in files.enumerated() {
            let text = try read(file)
            let result: (text: String, reports: [String])
            do {
                result = try transformer.transform(text, source: file)
            } catch {
                throw CLIError(error.description)
            }
            if i > 0 {
                if !output.isEmpty && !output.hasSuffix("\n") { output += "\n" }
                output += "---\n"
            }
            output += result.text
            for line in result.reports { reports += line + "\n" }
        }
        return (output, reports)
    }
}
