/// A JSON value that keeps what Kubernetes objects need kept: the order of an object's keys (so a manifest comes back
/// in the order it was written) and integers exactly (`Int64`, never a `Double`).
///
/// Equality is exact: same values and the same key order (what "the same manifest" means to a reviewer).
///
/// Why not `Codable` or `JSONSerialization`: both lose key order, and `JSONSerialization` turns `1` into a
/// number that may come back as `1.0` or `true`. Patches and re-emitted manifests must say exactly what the input said.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The object's members, or nil.
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var integerValue: Int64? {
        if case .integer(let i) = self { return i }
        return nil
    }

    /// The member `key` of an object (nil for other values or a missing key).
    public subscript(key: String) -> JSONValue? {
        self.objectValue?[key]
    }

    /// The kind of value, as error messages name it.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .double: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }

    /// A `[String: String]` from an object whose values are strings (annotations, labels); other members are left out.
    public var stringMap: [String: String] {
        guard let object = self.objectValue else { return [:] }
        var out: [String: String] = [:]
        out.reserveCapacity(object.count)
        for member in object.members {
            if case .string(let s) = member.value { out[member.key] = s }
        }
        return out
    }
}

/// An object's members in the order they were written. Lookups are linear: Kubernetes objects have few keys per level,
/// and a linear scan over a handful of keys beats hashing them.
public struct JSONObject: Sendable, Hashable, Sequence {
    public struct Member: Sendable, Hashable {
        public var key: String
        public var value: JSONValue
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    public private(set) var members: [Member]

    public init(_ members: [Member] = []) {
        self.members = members
    }

    public init(_ pairs: KeyValuePairs<String, JSONValue>) {
        self.members = pairs.map { Member(key: $0.key, value: $0.value) }
    }

    public var count: Int { self.members.count }
    public var isEmpty: Bool { self.members.isEmpty }
    public var keys: [String] { self.members.map(\.key) }

    public func makeIterator() -> IndexingIterator<[Member]> { self.members.makeIterator() }

    /// The value of `key`; setting replaces it in place, or appends it when new; setting nil removes it.
    public subscript(key: String) -> JSONValue? {
        get {
            for member in self.members where member.key == key { return member.value }
            return nil
        }
        set {
            if let index = self.members.firstIndex(where: { $0.key == key }) {
                if let newValue {
                    self.members[index].value = newValue
                } else {
                    self.members.remove(at: index)
                }
            } else if let newValue {
                self.members.append(Member(key: key, value: newValue))
            }
        }
    }

    /// Appends a member without looking for an existing one (the parser's path, which has checked).
    mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        self.members.append(Member(key: key, value: value))
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { JSONObject.Member(key: $0.0, value: $0.1) }))
    }
    public init(nilLiteral: ()) { self = .null }
}
