import Crypto

/// Incremental SHA-256 (swift-crypto) with a byte-array result, for comparing streams in tests.
public struct SHA256Hasher {
    private var hash = SHA256()
    public init() {}
    public mutating func update(_ bytes: ArraySlice<UInt8>) { bytes.withUnsafeBytes { self.hash.update(bufferPointer: $0) } }
    public func finish() -> [UInt8] { Array(self.hash.finalize()) }
}
