import NIOCore

/// Whether a client is taking what the proxy has queued for it: the bytes its channel still holds unwritten, against
/// the fewest found at earlier looks. The one progress measure behind the slow-reader checks of both HTTP versions
/// (``HTTP1ConnectionTimeouts``, ``HTTP2StalledReaderTimeout``); a look costs an option read, made only when a timer
/// fires.
struct QueuedWriteProgress {
    enum Verdict {
        /// Fewer bytes queued than at every look before: the client took some.
        case reading
        /// Bytes queued and none taken since the last look.
        case stalled
        /// Nothing queued, or the count can't be read (not a socket): no verdict.
        case nothingQueued
    }

    private var fewestUnwritten: Int?

    /// Starts over: the next look with bytes queued counts as progress.
    mutating func reset() {
        self.fewestUnwritten = nil
    }

    mutating func look(at channel: any Channel) -> Verdict {
        guard let unwritten = try? channel.syncOptions?.getOption(.bufferedWritableBytes), unwritten > 0 else {
            return .nothingQueued
        }
        if unwritten < (self.fewestUnwritten ?? .max) {
            self.fewestUnwritten = unwritten
            return .reading
        }
        return .stalled
    }
}
