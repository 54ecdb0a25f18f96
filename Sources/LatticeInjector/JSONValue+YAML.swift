import Yams

/// Why a YAML document can't be read as a JSON value.
public struct YAMLBridgeError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension JSONValue {
    /// Reads one YAML document (Kubernetes' YAML: JSON's data model). Mapping keys keep their order; plain scalars
    /// resolve as YAML 1.1's core schema does (`80` an integer, `true` a boolean, `"80"` a string), as kubectl reads
    /// them. Nil for an empty document (only comments or nothing).
    public static func parseYAML(_ text: String) throws(YAMLBridgeError) -> JSONValue? {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw YAMLBridgeError("not YAML: \(error)")
        }
        guard let node else { return nil }
        return try JSONValue(yamlNode: node)
    }

    /// Converts a composed Yams node (aliases already expanded by the composer).
    public init(yamlNode node: Node) throws(YAMLBridgeError) {
        switch node {
        case .scalar(let scalar):
            let tag = node.tag.description
            switch tag {
            case Tag.Name.null.rawValue: self = .null
            case Tag.Name.bool.rawValue:
                guard let b = node.bool else { throw YAMLBridgeError("'\(scalar.string)' is not a boolean") }
                self = .bool(b)
            case Tag.Name.int.rawValue:
                if let i = node.int {
                    self = .integer(Int64(i))
                } else if let d = node.float {
                    self = .double(d)
                } else {
                    throw YAMLBridgeError("'\(scalar.string)' is not an integer")
                }
            case Tag.Name.float.rawValue:
                guard let d = node.float else { throw YAMLBridgeError("'\(scalar.string)' is not a number") }
                self = .double(d)
            default:
                // Strings, and tags JSON has no type for (timestamps, binary): their text, as kubectl keeps it.
                self = .string(scalar.string)
            }
        case .mapping(let mapping):
            var object = JSONObject()
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw YAMLBridgeError("a mapping key is not a scalar (\(key)); Kubernetes objects have string keys")
                }
                object[keyScalar.string] = try JSONValue(yamlNode: value)
            }
            self = .object(object)
        case .sequence(let sequence):
            var items: [JSONValue] = []
            items.reserveCapacity(sequence.count)
            for item in sequence { items.append(try JSONValue(yamlNode: item)) }
            self = .array(items)
        case .alias:
            throw YAMLBridgeError("an unresolved YAML alias")
        }
    }

    /// The value as block-style YAML, keys in order, two-space indents, lists at their key's indent (kubectl's
    /// layout). Strings are plain only when YAML would read them back as the same string; otherwise double-quoted.
    public var yamlText: String {
        var out = ""
        switch self {
        case .object(let o) where !o.isEmpty: Self.emitObject(o, indent: 0, into: &out)
        case .array(let a) where !a.isEmpty: Self.emitArray(a, indent: 0, into: &out)
        default:
            out = Self.scalarText(self) + "\n"
        }
        return out
    }

    private static func emitObject(_ object: JSONObject, indent: Int, into out: inout String) {
        let pad = String(repeating: " ", count: indent)
        for member in object.members {
            out += pad
            out += Self.scalarText(.string(member.key))
            out += ":"
            Self.emitValueAfterKey(member.value, indent: indent, into: &out)
        }
    }

    private static func emitValueAfterKey(_ value: JSONValue, indent: Int, into out: inout String) {
        switch value {
        case .object(let o) where !o.isEmpty:
            out += "\n"
            Self.emitObject(o, indent: indent + 2, into: &out)
        case .array(let a) where !a.isEmpty:
            out += "\n"
            Self.emitArray(a, indent: indent, into: &out)
        default:
            out += " " + Self.scalarText(value) + "\n"
        }
    }

    private static func emitArray(_ items: [JSONValue], indent: Int, into out: inout String) {
        let pad = String(repeating: " ", count: indent)
        for item in items {
            out += pad + "-"
            switch item {
            case .object(let o) where !o.isEmpty:
                // The first member on the dash's line, the rest under it.
                for (i, member) in o.members.enumerated() {
                    out += i == 0 ? " " : String(repeating: " ", count: indent + 2)
                    out += Self.scalarText(.string(member.key)) + ":"
                    Self.emitValueAfterKey(member.value, indent: indent + 2, into: &out)
                }
            case .array(let a) where !a.isEmpty:
                out += "\n"
                Self.emitArray(a, indent: indent + 2, into: &out)
            default:
                out += " " + Self.scalarText(item) + "\n"
            }
        }
    }

    /// A scalar (or an empty collection) on one line.
    static func scalarText(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .double(let d):
            if d.isNaN { return ".nan" }
            if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
            // YAML 1.1 reads an exponent without a dot (`1e-07`) as a string: write `1.0e-07`.
            var text = "\(d)"
            if !text.contains("."), let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
                text.insert(contentsOf: ".0", at: e)
            }
            return text
        case .string(let s):
            if Self.isSafePlain(s) { return s }
            var bytes: [UInt8] = []
            JSONValue.writeString(s, into: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        case .array: return "[]"
        case .object: return "{}"
        }
    }

    /// Words YAML 1.1 reads as booleans or null when plain.
    private static let reservedWords: Set<String> = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
    ]

    /// True when `s` written plain reads back as the same string: a conservative allow-list (letters first, no
    /// indicators, no `: ` or ` #`, nothing YAML would take for a boolean, null or number).
    static func isSafePlain(_ s: String) -> Bool {
        guard let first = s.utf8.first, let last = s.utf8.last else { return false }
        let isLetter: (UInt8) -> Bool = { (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
        guard isLetter(first) || first == UInt8(ascii: "/") || first == UInt8(ascii: "_") else { return false }
        guard last != UInt8(ascii: " ") && last != UInt8(ascii: ":") else { return false }
        if Self.reservedWords.contains(s.lowercased()) { return false }
        var previous: UInt8 = 0
        for byte in s.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: break
            case UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "-"), UInt8(ascii: "="),
                UInt8(ascii: "@"), UInt8(ascii: "+"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "$"),
                UInt8(ascii: "%"), UInt8(ascii: "^"), UInt8(ascii: "<"), UInt8(ascii: ">"):
                break
            case UInt8(ascii: ":"): break
            case UInt8(ascii: " "):
                if previous == UInt8(ascii: ":") || previous == UInt8(ascii: " ") { return false }
            case UInt8(ascii: "#"):
                if previous == UInt8(ascii: " ") { return false }
            default: return false
            }
            if previous == UInt8(ascii: ":") && byte == UInt8(ascii: " ") { return false }
            previous = byte
        }
        return true
    }
}
