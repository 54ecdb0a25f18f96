extension Collection where Element == UInt8 {
    /// ASCII case-insensitive comparison with a lowercase `other` (header names and tokens), without allocating.
    @inlinable
    public func equalsCaseInsensitive(_ other: StaticString) -> Bool {
        guard self.count == other.utf8CodeUnitCount else { return false }
        return other.withUTF8Buffer { lower in
            var index = 0
            for byte in self {
                let folded = (byte >= 0x41 && byte <= 0x5A) ? byte | 0x20 : byte
                if folded != lower[index] { return false }
                index += 1
            }
            return true
        }
    }
}
