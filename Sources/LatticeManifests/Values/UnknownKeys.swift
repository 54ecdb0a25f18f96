/// Refuses keys the chart does not have, so a typo (`proxy.resource.requests.memory`) fails instead of being ignored.
///
/// The defaults say which maps are closed: an object with members in the defaults has exactly those keys; an empty
/// object (`nodeSelector: {}`, `labels: {}`, per-service flags) is free-form, as is anything under a list. `global`
/// is open too: an umbrella chart (the runbook's `helm/akko`) passes every global to every sub-chart, and values
/// files written for it carry them.
enum UnknownKeys {
    static let openKeys: Set<String> = ["global"]

    static func check(_ tree: ValueTree, against defaults: ValueTree, source: String) throws(ManifestsError) {
        try self.walk(tree, defaults, path: [], source: source)
    }

    private static func walk(_ tree: ValueTree, _ defaults: ValueTree, path: [String], source: String) throws(ManifestsError) {
        guard case .object(let members) = tree, case .object(let known) = defaults, !known.isEmpty else { return }
        for (key, value) in members {
            guard let expected = known.first(where: { $0.key == key })?.value else {
                let parent = path.isEmpty ? "the top level" : "'\(ValuePath.spell(path))'"
                let names = known.map(\.key).joined(separator: ", ")
                throw ManifestsError(
                    .unknownKey,
                    "\(source): '\(ValuePath.spell(path + [key]))' is not a key of the chart; \(parent) has: \(names)"
                )
            }
            if path.isEmpty && self.openKeys.contains(key) { continue }
            try self.walk(value, expected, path: path + [key], source: source)
        }
    }
}
