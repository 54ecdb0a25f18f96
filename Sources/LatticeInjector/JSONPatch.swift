/// A JSON Pointer (RFC 6901): the path of a value inside a document, one reference token per level.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible {
    public var tokens: [String]

    public init(_ tokens: [String]) {
        self.tokens = tokens
    }

    /// Parses `/a/b~1c/0` (`~1` is `/`, `~0` is `~`); the empty string is the whole document.
    public init(parsing text: String) throws(JSONPatchError) {
        if text.isEmpty {
            self.tokens = []
            return
        }
        guard text.hasPrefix("/") else { throw JSONPatchError("pointer '\(text)' does not start with '/'") }
        self.tokens = text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    public func appending(_ token: String) -> JSONPointer {
        JSONPointer(self.tokens + [token])
    }

    /// `~` is written `~0` and `/` is written `~1`, in that order (RFC 6901 §3).
    public static func escape(_ token: String) -> String {
        guard token.contains("~") || token.contains("/") else { return token }
        return token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    public var description: String {
        self.tokens.map { "/" + Self.escape($0) }.joined()
    }
}

/// One JSON Patch (RFC 6902) operation: the three the injector needs.
public enum JSONPatchOperation: Sendable, Hashable {
    case add(JSONPointer, JSONValue)
    case remove(JSONPointer)
    case replace(JSONPointer, JSONValue)

    public var path: JSONPointer {
        switch self {
        case .add(let p, _), .remove(let p), .replace(let p, _): p
        }
    }

    var json: JSONValue {
        switch self {
        case .add(let path, let value): ["op": "add", "path": .string(path.description), "value": value]
        case .remove(let path): ["op": "remove", "path": .string(path.description)]
        case .replace(let path, let value): ["op": "replace", "path": .string(path.description), "value": value]
        }
    }
}

/// Why a patch cannot be parsed or applied: names the operation and the path.
public struct JSONPatchError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// An RFC 6902 patch: operations applied in order, each to the result of the one before.
public struct JSONPatch: Sendable, Hashable {
    public var operations: [JSONPatchOperation]

    public init(_ operations: [JSONPatchOperation] = []) {
        self.operations = operations
    }

    public var isEmpty: Bool { self.operations.isEmpty }

    /// The patch as the JSON array an AdmissionResponse carries (before base64).
    public func serialized() -> [UInt8] {
        JSONValue.array(self.operations.map(\.json)).serialized()
    }

    /// Parses a JSON Patch document (only `add`, `remove` and `replace`).
    public init(parsing bytes: some Collection<UInt8>) throws(JSONPatchError) {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw JSONPatchError("patch is \(error)")
        }
        guard let items = value.arrayValue else { throw JSONPatchError("a patch is a list of operations, not \(value.kindName)") }
        var operations: [JSONPatchOperation] = []
        for (i, item) in items.enumerated() {
            guard let op = item["op"]?.stringValue, let pathText = item["path"]?.stringValue else {
                throw JSONPatchError("operation \(i) lacks 'op' or 'path'")
            }
            let path = try JSONPointer(parsing: pathText)
            switch op {
            case "add", "replace":
                guard let v = item["value"] else { throw JSONPatchError("operation \(i) (\(op) \(pathText)) lacks 'value'") }
                operations.append(op == "add" ? .add(path, v) : .replace(path, v))
            case "remove": operations.append(.remove(path))
            default: throw JSONPatchError("operation \(i): '\(op)' is not add, remove or replace")
            }
        }
        self.operations = operations
    }

    /// The document with every operation applied; the error names the first operation that cannot apply.
    public func apply(to document: JSONValue) throws(JSONPatchError) -> JSONValue {
        var doc = document
        for (i, operation) in self.operations.enumerated() {
            do {
                try Self.apply(operation, tokens: operation.path.tokens[...], to: &doc)
            } catch {
                throw JSONPatchError("operation \(i) (\(operation.json.jsonText)): \(error.description)")
            }
        }
        return doc
    }

    private static func apply(
        _ operation: JSONPatchOperation,
        tokens: ArraySlice<String>,
        to value: inout JSONValue
    ) throws(JSONPatchError) {
        guard let token = tokens.first else {
            switch operation {
            case .add(_, let v), .replace(_, let v): value = v
            case .remove: throw JSONPatchError("cannot remove the whole document")
            }
            return
        }
        let rest = tokens.dropFirst()
        switch value {
        case .object(var object):
            if rest.isEmpty {
                switch operation {
                case .add(_, let v): object[token] = v
                case .replace(_, let v):
                    guard object[token] != nil else { throw JSONPatchError("no member '\(token)' to replace") }
                    object[token] = v
                case .remove:
                    guard object[token] != nil else { throw JSONPatchError("no member '\(token)' to remove") }
                    object[token] = nil
                }
            } else {
                guard var child = object[token] else { throw JSONPatchError("no member '\(token)'") }
                try self.apply(operation, tokens: rest, to: &child)
                object[token] = child
            }
            value = .object(object)
        case .array(var items):
            let index: Int
            if token == "-" {
                guard rest.isEmpty, case .add = operation else { throw JSONPatchError("'-' only names the end of a list for add") }
                index = items.count
            } else {
                guard let i = Int(token), i >= 0, String(i) == token else { throw JSONPatchError("'\(token)' is not a list index") }
                index = i
            }
            if rest.isEmpty {
                switch operation {
                case .add(_, let v):
                    guard index <= items.count else { throw JSONPatchError("index \(index) is past the end (\(items.count))") }
                    items.insert(v, at: index)
                case .replace(_, let v):
                    guard index < items.count else { throw JSONPatchError("no item \(index) to replace") }
                    items[index] = v
                case .remove:
                    guard index < items.count else { throw JSONPatchError("no item \(index) to remove") }
                    items.remove(at: index)
                }
            } else {
                guard index < items.count else { throw JSONPatchError("no item \(index)") }
                try self.apply(operation, tokens: rest, to: &items[index])
            }
            value = .array(items)
        default:
            throw JSONPatchError("'\(token)' names a member of \(value.kindName)")
        }
    }
}
