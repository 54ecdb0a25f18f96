import Yams

extension ValueTree {
    /// Parses a YAML document (a values file) into a tree, keeping key order.
    ///
    /// - Parameter source: names the file in errors.
    /// - Throws: ``ManifestsError/Code/malformedValues`` when the text is not YAML.
    public static func parseYAML(_ text: String, source: String) throws(ManifestsError) -> ValueTree {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ManifestsError(.malformedValues, "\(source) is not valid YAML: \(error)")
        }
        guard let node else { return .emptyObject }
        return try self.from(node, source: source, path: [])
    }

    static func from(_ node: Node, source: String, path: [String]) throws(ManifestsError) -> ValueTree {
        switch node {
        case .scalar(let scalar):
            switch node.tag.rawValue {
            case Tag.Name.null.rawValue: return .null
            case Tag.Name.bool.rawValue: return node.bool.map(ValueTree.bool) ?? .string(scalar.string)
            case Tag.Name.int.rawValue: return node.int.map(ValueTree.int) ?? .string(scalar.string)
            case Tag.Name.float.rawValue: return node.float.map(ValueTree.double) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            var items: [ValueTree] = []
            for (index, item) in sequence.enumerated() {
                items.append(try self.from(item, source: source, path: path + ["[\(index)]"]))
            }
            return .array(items)
        case .mapping(let mapping):
            var members: [(key: String, value: ValueTree)] = []
            for (key, value) in mapping {
                guard let name = key.string else {
                    throw ManifestsError(
                        .malformedValues,
                        "\(source): a key under '\(ValuePath.spell(path))' is not a string"
                    )
                }
                if let index = members.firstIndex(where: { $0.key == name }) {
                    members.remove(at: index)
                }
                members.append((name, try self.from(value, source: source, path: path + [name])))
            }
            return .object(members)
        case .alias:
            throw ManifestsError(.malformedValues, "\(source): YAML aliases are not supported in values")
        }
    }

    /// The tree as a YAML node, strings quoted where YAML would read them as another type, multi-line strings as
    /// literal blocks, keys in the tree's order.
    public var yamlNode: Node {
        switch self {
        case .null: return Node("null", Tag(.null))
        case .bool(let b): return Node(b ? "true" : "false", Tag(.bool))
        case .int(let i): return Node(String(i), Tag(.int))
        case .double(let d): return Node(String(d), Tag(.float))
        case .string(let s):
            if s.contains("\n") { return Node(s, Tag(.str), .literal) }
            let resolved = Resolver.default.resolveTag(of: Node(s))
            let plainIsString = resolved == Tag.Name.str && !s.isEmpty && s.trimmingSpaces == s
            return Node(s, Tag(.str), plainIsString ? .plain : .doubleQuoted)
        case .array(let items): return Node(items.map(\.yamlNode))
        case .object(let members): return Node(members.map { (Node($0.key), $0.value.yamlNode) })
        }
    }

    /// One YAML document for the tree.
    public func yamlDocument() -> String {
        // Serialising a tree of scalars, sequences and mappings cannot fail.
        (try? Yams.serialize(node: self.yamlNode, width: -1, sortKeys: false)) ?? ""
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
