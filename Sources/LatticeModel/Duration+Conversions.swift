extension Duration {
    /// The duration in seconds, as a `Double` (Foundation's `TimeInterval`).
    public var timeInterval: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The duration in whole nanoseconds (for NIO's `TimeAmount`).
    public var totalNanoseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
