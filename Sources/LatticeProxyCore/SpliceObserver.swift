/// Which of the two channels of a splice an event is about.
public enum SpliceSide: Hashable, Sendable {
    /// The channel of the first handler that ``GlueHandler/matchedPair(observer:)`` returns.
    case first

    /// The channel of the second handler that ``GlueHandler/matchedPair(observer:)`` returns.
    case second
}

/// Receives per-connection traffic events from a pair of ``GlueHandler``s, for byte counters and connection metrics.
///
/// Both handlers of a pair share one observer and keep it alive until they leave their pipelines. Every call is made
/// on the event loop of the two channels, must not block, and should do little more than add to a counter.
public protocol SpliceObserver: AnyObject {
    /// Bytes were read from one side's channel (and are being forwarded to the other side).
    ///
    /// Called once per `channelRead`, never per byte.
    ///
    /// - Parameters:
    ///   - count: The number of bytes in the read.
    ///   - side: The side whose channel the bytes were read from.
    func bytesRead(_ count: Int, side: SpliceSide)

    /// Both channels of the splice have gone inactive (or left their pipelines). Called exactly once, provided both
    /// handlers were added to a pipeline.
    func closed()
}
