/// Port lists as flags, variables and annotations spell them: `25,587,8000-8010` (a range also as `8000:8010`, as
/// iptables writes it). One parser for the proxy, the controller and lattice-init.
public enum PortRanges {
    /// The ranges in order (a single port is a one-port range); the error names the first bad item.
    public static func parse(_ text: String) -> Result<[ClosedRange<Int>], PortRangeError> {
        var out: [ClosedRange<Int>] = []
        for raw in text.split(separator: ",") {
            let item = raw.filter { $0 != " " }
            if item.isEmpty { continue }
            let bounds = item.split(whereSeparator: { $0 == "-" || $0 == ":" }).map { Int($0) }
            guard (1...2).contains(bounds.count), let low = bounds.first ?? nil, let high = bounds.last ?? nil,
                (1...65535).contains(low), (1...65535).contains(high), low <= high
            else { return .failure(PortRangeError(item: String(item))) }
            out.append(low...high)
        }
        return .success(out)
    }

    /// Every port the list names; nil when an item is bad.
    public static func ports(_ text: String) -> Set<Int>? {
        guard case .success(let ranges) = self.parse(text) else { return nil }
        return Set(ranges.joined())
    }
}

/// An item of a port list that is neither a port nor a range.
public struct PortRangeError: Error, Hashable, Sendable, CustomStringConvertible {
    public let item: String
    public var description: String { "'\(self.item)' is not a port or a range of ports (e.g. 3306 or 8000-8010)" }
}
