extension ValueTree: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: ValueTree...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, ValueTree)...) {
        self = .object(elements.map { (key: $0.0, value: $0.1) })
    }
    public init(nilLiteral: ()) { self = .null }

    /// An object from ordered pairs, leaving out members whose value is nil (optional fields of a manifest).
    public static func compact(_ pairs: [(String, ValueTree?)]) -> ValueTree {
        .object(pairs.compactMap { pair in pair.1.map { (key: pair.0, value: $0) } })
    }

    /// A string map (labels, annotations, selectors) in key order.
    public static func strings(_ map: [String: String]) -> ValueTree {
        .object(map.keys.sorted().map { (key: $0, value: .string(map[$0]!)) })
    }
}
