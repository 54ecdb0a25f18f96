/// A values document (Helm's `values.yaml`, `-f` files, `--set` results): a JSON-shaped tree whose objects keep the
/// order their keys were written in, so rendered manifests read in the order a person wrote them.
///
/// Helm merges values as maps of `interface{}`; this is the same model with types, so the Swift side can merge
/// `-f` files and `--set` flags exactly as `helm install` does before anything is decoded into ``InstallValues``.
public indirect enum ValueTree: Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([ValueTree])
    case object([(key: String, value: ValueTree)])

    /// An empty object.
    public static let emptyObject = ValueTree.object([])

    public static func == (lhs: ValueTree, rhs: ValueTree) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.double(let a), .double(let b)): return a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)): return Double(a) == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            return a.allSatisfy { pair in b.first(where: { $0.key == pair.key }).map { $0.value == pair.value } ?? false }
        default: return false
        }
    }

    /// The member named `key` of an object, or nil.
    public subscript(key: String) -> ValueTree? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.key == key })?.value
    }

    /// The value at a dotted path of object keys (`identity.issuer.tls.crtPEM`), or nil.
    public func value(at path: [String]) -> ValueTree? {
        path.reduce(Optional(self)) { node, key in node?[key] }
    }

    /// The object's members, or nil when this is not an object.
    public var members: [(key: String, value: ValueTree)]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Helm's coalescing: `overlay` wins; objects merge key by key (recursively); a `null` in the overlay deletes
    /// the key; anything else replaces.
    public func merged(with overlay: ValueTree) -> ValueTree {
        guard case .object(var base) = self, case .object(let top) = overlay else { return overlay }
        for (key, value) in top {
            if let index = base.firstIndex(where: { $0.key == key }) {
                if value.isNull {
                    base.remove(at: index)
                } else {
                    base[index].value = base[index].value.merged(with: value)
                }
            } else if !value.isNull {
                base.append((key, value.removingNulls()))
            }
        }
        return .object(base)
    }

    /// The tree without object members whose value is `null`.
    public func removingNulls() -> ValueTree {
        switch self {
        case .object(let members): return .object(members.filter { !$0.value.isNull }.map { ($0.key, $0.value.removingNulls()) })
        case .array(let items): return .array(items.map { $0.removingNulls() })
        default: return self
        }
    }

    /// Sets `value` at `path`, creating objects (and, for `[n]` steps, arrays) on the way, as `--set` does.
    public mutating func set(_ value: ValueTree, at path: [ValuePath.Step]) {
        guard let step = path.first else {
            self = value
            return
        }
        let rest = Array(path.dropFirst())
        switch step {
        case .key(let key):
            var members = self.members ?? []
            if let index = members.firstIndex(where: { $0.key == key }) {
                members[index].value.set(value, at: rest)
            } else {
                var child = ValueTree.null
                child.set(value, at: rest)
                members.append((key, child))
            }
            self = .object(members)
        case .index(let index):
            var items: [ValueTree]
            if case .array(let existing) = self { items = existing } else { items = [] }
            while items.count <= index { items.append(.null) }
            items[index].set(value, at: rest)
            self = .array(items)
        }
    }

    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return String(b)
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return "\"\(s)\""
        case .array(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        case .object(let members): return "{" + members.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }
}

/// A path into values, as `--set` spells it: `a.b[0].c`, with `\.` for a literal dot in a key.
public enum ValuePath {
    public enum Step: Hashable, Sendable {
        case key(String)
        case index(Int)
    }

    /// Parses `a.b\.c[2].d` into steps.
    ///
    /// - Throws: ``ManifestsError`` when an index is not a number or a bracket is left open.
    public static func parse(_ text: String) throws(ManifestsError) -> [Step] {
        var steps: [Step] = []
        var key = ""
        var iterator = Array(text)[...]
        func flushKey() throws(ManifestsError) {
            guard !key.isEmpty else {
                throw ManifestsError(.invalidSet, "'\(text)': an empty key in the path (two dots in a row, or a leading dot)")
            }
            steps.append(.key(key))
            key = ""
        }
        while let character = iterator.popFirst() {
            switch character {
            case "\\":
                guard let next = iterator.popFirst() else {
                    throw ManifestsError(.invalidSet, "'\(text)': a trailing backslash in the path")
                }
                key.append(next)
            case ".":
                if key.isEmpty, case .index = steps.last { continue }
                try flushKey()
            case "[":
                if !key.isEmpty { try flushKey() }
                var digits = ""
                while let d = iterator.popFirst(), d != "]" { digits.append(d) }
                guard let index = Int(digits), index >= 0, index <= 65_536 else {
                    throw ManifestsError(.invalidSet, "'\(text)': '[\(digits)]' is not a list index (use a[0]=x)")
                }
                steps.append(.index(index))
            default:
                key.append(character)
            }
        }
        if !key.isEmpty { steps.append(.key(key)) }
        guard !steps.isEmpty else { throw ManifestsError(.invalidSet, "'\(text)': no key before '='") }
        return steps
    }

    /// The dotted spelling of a key path, for messages.
    public static func spell(_ keys: [String]) -> String { keys.joined(separator: ".") }
}
