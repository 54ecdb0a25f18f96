/// Reads typed settings out of merged values, with errors that name the key, what it holds and what it must hold.
struct ValueReader {
    let tree: ValueTree

    func node(_ path: String) -> ValueTree? {
        self.tree.value(at: path.split(separator: ".").map(String.init))
    }

    func string(_ path: String) throws(ManifestsError) -> String {
        switch self.node(path) {
        case .string(let s)?: return s
        case nil, .null?: return ""
        case .int(let i)?: return String(i)
        case .double(let d)?: return Self.format(d)
        case .bool(let b)?: return String(b)
        case let other?: throw self.wrongType(path, other, "a string")
        }
    }

    func int(_ path: String, in range: ClosedRange<Int>) throws(ManifestsError) -> Int {
        let value: Int
        switch self.node(path) {
        case .int(let i)?: value = i
        case .double(let d)? where d.rounded() == d && abs(d) < 1e15: value = Int(d)
        case .string(let s)? where Int(s) != nil: value = Int(s)!
        case let other: throw self.wrongType(path, other ?? .null, "an integer")
        }
        guard range.contains(value) else {
            throw ManifestsError(
                .invalidValue,
                "\(path) is \(value); it must be between \(range.lowerBound) and \(range.upperBound)"
            )
        }
        return value
    }

    func number(_ path: String, atLeast minimum: Double) throws(ManifestsError) -> Double {
        let value: Double
        switch self.node(path) {
        case .int(let i)?: value = Double(i)
        case .double(let d)?: value = d
        case .string(let s)? where Double(s) != nil: value = Double(s)!
        case let other: throw self.wrongType(path, other ?? .null, "a number")
        }
        guard value >= minimum else {
            throw ManifestsError(.invalidValue, "\(path) is \(Self.format(value)); it must be at least \(Self.format(minimum))")
        }
        return value
    }

    func bool(_ path: String) throws(ManifestsError) -> Bool {
        switch self.node(path) {
        case .bool(let b)?: return b
        case nil, .null?: return false
        case .string(let s)? where s == "true" || s == "false": return s == "true"
        case let other?: throw self.wrongType(path, other, "true or false")
        }
    }

    func oneOf(_ path: String, _ allowed: [String]) throws(ManifestsError) -> String {
        let value = try self.string(path)
        guard allowed.contains(value) else {
            throw ManifestsError(
                .invalidValue,
                "\(path) is '\(value)'; it must be one of \(allowed.joined(separator: ", "))"
            )
        }
        return value
    }

    /// A map of strings (labels, selectors).
    func stringMap(_ path: String) throws(ManifestsError) -> [String: String] {
        guard let node = self.node(path), !node.isNull else { return [:] }
        guard let members = node.members else { throw self.wrongType(path, node, "a map of strings") }
        var map: [String: String] = [:]
        for (key, value) in members {
            switch value {
            case .string(let s): map[key] = s
            case .int(let i): map[key] = String(i)
            case .bool(let b): map[key] = String(b)
            default: throw self.wrongType("\(path).\(key)", value, "a string")
            }
        }
        return map
    }

    /// A map of booleans (per-service flags), in key order.
    func flags(_ path: String) throws(ManifestsError) -> [(name: String, isOn: Bool)] {
        guard let node = self.node(path), !node.isNull else { return [] }
        guard let members = node.members else { throw self.wrongType(path, node, "a map of service: true|false") }
        var flags: [(name: String, isOn: Bool)] = []
        for (key, value) in members {
            switch value {
            case .bool(let b): flags.append((key, b))
            case .null: flags.append((key, false))
            case .string(let s) where s == "true" || s == "false": flags.append((key, s == "true"))
            default: throw self.wrongType("\(path).\(key)", value, "true or false")
            }
        }
        return flags
    }

    /// A free-form subtree, checked to be of the expected shape.
    func tree(_ path: String, object: Bool) throws(ManifestsError) -> ValueTree {
        let node = self.node(path) ?? (object ? .emptyObject : .array([]))
        switch (node, object) {
        case (.object, true), (.array, false): return node
        case (.null, _): return object ? .emptyObject : .array([])
        default: throw self.wrongType(path, node, object ? "a map" : "a list")
        }
    }

    func wrongType(_ path: String, _ value: ValueTree, _ expected: String) -> ManifestsError {
        ManifestsError(.invalidValue, "\(path) is \(value); it must be \(expected)")
    }

    static func format(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
