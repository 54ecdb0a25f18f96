/// An IPv4 or IPv6 address as bytes, for network membership checks without Foundation or NIO.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 bytes (IPv6).
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses dotted IPv4 (`198.51.100.7`) or IPv6 (`fd00::1`, `::ffff:10.0.0.1`).
    public init?(_ text: String) {
        if let v4 = Self.parseIPv4(Substring(text)) {
            self.bytes = v4
        } else if let v6 = Self.parseIPv6(text) {
            self.bytes = v6
        } else {
            return nil
        }
    }

    public var isIPv4: Bool { self.bytes.count == 4 }

    /// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) as IPv4.
    public var unmapped: IPAddress {
        if self.bytes.count == 16, self.bytes[0..<10].allSatisfy({ $0 == 0 }), self.bytes[10] == 0xff,
            self.bytes[11] == 0xff
        {
            return IPAddress(bytes: Array(self.bytes[12...]))!
        }
        return self
    }

    public var description: String {
        if self.isIPv4 { return self.bytes.map(String.init).joined(separator: ".") }
        var groups: [String] = []
        for i in stride(from: 0, to: 16, by: 2) {
            groups.append(String(UInt16(self.bytes[i]) << 8 | UInt16(self.bytes[i + 1]), radix: 16))
        }
        return groups.joined(separator: ":")
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = UInt8(part)
            else { return nil }
            out.append(value)
        }
        return out
    }

    static func parseIPv6(_ text: String) -> [UInt8]? {
        guard text.contains(":") else { return nil }
        var text = Substring(text)
        var tail: [UInt8] = []
        if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
            guard let v4 = Self.parseIPv4(text[text.index(after: lastColon)...]) else { return nil }
            tail = v4
            text = text[...lastColon]
            if text.hasSuffix(":") && !text.hasSuffix("::") { text = text.dropLast() }
        }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ s: String) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            for g in s.split(separator: ":", omittingEmptySubsequences: false) {
                guard !g.isEmpty, g.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        let rest = halves.count == 2 ? groups(halves[1]) : []
        guard let rest else { return nil }
        let total = head.count + rest.count + tail.count / 2
        if halves.count == 1 {
            guard total == 8 else { return nil }
        } else {
            guard total < 8 else { return nil }
        }
        let zeros = [UInt16](repeating: 0, count: 8 - total)
        var bytes: [UInt8] = []
        for g in head + zeros + rest {
            bytes.append(UInt8(g >> 8))
            bytes.append(UInt8(g & 0xff))
        }
        return bytes + tail
    }
}

extension Substring {
    fileprivate func components(separatedBy separator: String) -> [String] {
        var parts: [String] = []
        var rest = self
        while let range = rest.firstRange(of: separator) {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }
}

/// A CIDR network (`10.0.0.0/8`, `fd00::/8`).
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// Parses `ADDRESS/PREFIX`; a bare address is a host network.
    public init(_ text: String) throws(PolicyError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else {
            throw PolicyError("'\(text)' is not a network (expected CIDR such as 10.0.0.0/8 or fd00::/8)")
        }
        let maxLength = address.bytes.count * 8
        var length = maxLength
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...maxLength).contains(parsed) else {
                throw PolicyError("'\(text)' has an invalid prefix length (0–\(maxLength))")
            }
            length = parsed
        }
        self.address = address
        self.prefixLength = length
    }

    public func contains(_ candidate: IPAddress) -> Bool {
        let candidate = candidate.unmapped
        guard candidate.bytes.count == self.address.bytes.count else { return false }
        var remaining = self.prefixLength
        for i in 0..<candidate.bytes.count {
            if remaining <= 0 { return true }
            let mask: UInt8 = remaining >= 8 ? 0xff : ~(0xff >> UInt8(remaining))
            if candidate.bytes[i] & mask != self.address.bytes[i] & mask { return false }
            remaining -= 8
        }
        return true
    }

    public var description: String { "\(self.address)/\(self.prefixLength)" }

    /// Every address, IPv4 and IPv6 (Linkerd's default probe networks).
    public static let everywhere: [IPNetwork] = ["0.0.0.0/0", "::/0"].map { try! IPNetwork($0) }

    /// Linkerd's default cluster networks.
    public static let linkerdDefaults: [IPNetwork] = ["10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"]
        .map { try! IPNetwork($0) }

    /// Parses a comma-separated list.
    public static func parseList(_ text: String) throws(PolicyError) -> [IPNetwork] {
        var out: [IPNetwork] = []
        for part in text.split(separator: ",") {
            let trimmed = String(part).trimmingASCIIWhitespace()
            if trimmed.isEmpty { continue }
            out.append(try IPNetwork(trimmed))
        }
        return out
    }
}
