/// When a burst is over: the open connections have fallen to half the peak since the last trim, by `minimumDrop`.
public struct TrimPolicy: Sendable {
    public var minimumDrop: Int
    public private(set) var peak = 0

    public init(minimumDrop: Int = 64) {
        self.minimumDrop = minimumDrop
    }

    /// Fed the open connections at each look; true when it is time to trim (the peak then starts over from here).
    public mutating func shouldTrim(open: Int) -> Bool {
        self.peak = max(self.peak, open)
        guard self.peak - open >= self.minimumDrop, open <= self.peak / 2 else { return false }
        self.peak = open
        return true
    }
}
