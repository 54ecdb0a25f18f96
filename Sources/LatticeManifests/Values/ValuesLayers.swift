import FoundationEssentials

/// What the user gave on top of the chart's defaults, in Helm's order: every `-f` file in order, then every `--set`,
/// then `--set-string`, then `--set-file` (`helm.sh/helm/v3/pkg/cli/values.Options.MergeValues` merges in that order,
/// whatever order the flags were typed in).
public struct ValuesLayers: Sendable {
    public var files: [String]
    public var set: [String]
    public var setString: [String]
    public var setFile: [String]

    public init(files: [String] = [], set: [String] = [], setString: [String] = [], setFile: [String] = []) {
        self.files = files
        self.set = set
        self.setString = setString
        self.setFile = setFile
    }

    /// Merges the layers onto `defaults`.
    ///
    /// - Parameter readFile: reads a values file or a `--set-file` path.
    /// - Throws: ``ManifestsError`` naming the file or flag at fault.
    public func merge(
        onto defaults: ValueTree,
        readFile: (String) throws(ManifestsError) -> String = ValuesLayers.readFile
    ) throws(ManifestsError) -> ValueTree {
        var merged = defaults
        for path in self.files {
            let tree = try ValueTree.parseYAML(try readFile(path), source: path)
            guard tree.members != nil || tree.isNull else {
                throw ManifestsError(.malformedValues, "\(path) is not a map of values (it holds \(tree))")
            }
            merged = merged.merged(with: tree)
        }
        let groups: [([String], SetArgument.Kind, String)] = [
            (self.set, .typed, "--set"), (self.setString, .string, "--set-string"), (self.setFile, .file, "--set-file"),
        ]
        for (arguments, kind, flag) in groups {
            for argument in arguments {
                let assignments: [SetArgument.Assignment]
                do {
                    assignments = try SetArgument.parse(argument, kind: kind, readFile: readFile)
                } catch {
                    throw ManifestsError(error.code, "\(flag) \(error.reason)")
                }
                for assignment in assignments {
                    var overlay = ValueTree.emptyObject
                    overlay.set(assignment.value, at: assignment.path)
                    merged = merged.merged(with: overlay)
                }
            }
        }
        return merged
    }

    /// Reads a UTF-8 file, with an error naming it.
    public static func readFile(_ path: String) throws(ManifestsError) -> String {
        do {
            let data = try Data(contentsOf: URL(filePath: path))
            guard let text = String(data: data, encoding: .utf8) else {
                throw ManifestsError(.unreadableFile, "\(path) is not UTF-8 text")
            }
            return text
        } catch let error as ManifestsError {
            throw error
        } catch {
            throw ManifestsError(.unreadableFile, "cannot read \(path): \(error.localizedDescription)")
        }
    }
}
