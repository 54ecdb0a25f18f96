import NIOCore

/// Closes a client's HTTP/2 connection whose client has stopped reading it.
///
/// HTTP/2 has its own back-pressure, per stream and per connection (flow-control windows), and a client holding a
/// stream's window shut is within its rights (a gRPC stream whose consumer is paused): that is left alone. But a
/// client that grants windows and then stops reading the socket holds the connection, every stream on it and their
/// upstreams (all back-pressured) for as long as it likes, and answers no PING, so no HTTP/2-level timeout ends it.
///
/// From when the connection becomes unwritable (the socket's send buffer full and more queued), this handler looks at
/// the bytes still queued every `timeout`: fewer than at any look before means the client is reading, and it looks
/// again a period later; none taken for a whole period and it closes the connection, counted by `onStalledReader`
/// (as `slow_reader`, like the HTTP/1 case). The connection becoming writable again stops the clock. A busy
/// connection that stays writable costs nothing here: no timer, no clock read.
///
/// Sits anywhere on the connection's pipeline: it sees only writability events and reads the channel's own count.
final class HTTP2StalledReaderTimeout: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any
    typealias InboundOut = Any

    private let timeout: TimeAmount
    private let onStalledReader: () -> Void
    private var timer: Scheduled<Void>?
    /// Whether the client takes the bytes queued for it, since the connection became unwritable.
    private var progress = QueuedWriteProgress()
    /// This handler closed the connection (counted here; its streams' handlers don't count it again).
    private(set) var closedStalledReader = false

    init(timeout: TimeAmount, onStalledReader: @escaping () -> Void) {
        self.timeout = timeout
        self.onStalledReader = onStalledReader
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.stop()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.stop()
        } else if self.timer == nil {
            self.progress.reset()
            self.arm(context)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.stop()
        context.fireChannelInactive()
    }

    private func arm(_ context: ChannelHandlerContext) {
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(in: self.timeout) {
            self.timer = nil
            self.look(context)
        }
    }

    private func look(_ context: ChannelHandlerContext) {
        guard !context.channel.isWritable, context.channel.isActive else { return }
        switch self.progress.look(at: context.channel) {
        case .reading:
            self.arm(context)
            return
        case .nothingQueued:
            // Unwritable with nothing counted as queued (or no count to read): no way to judge, so no verdict.
            return
        case .stalled:
            break
        }
        self.closedStalledReader = true
        self.onStalledReader()
        context.close(promise: nil)
    }

    private func stop() {
        self.timer?.cancel()
        self.timer = nil
        self.progress.reset()
    }
}

@available(*, unavailable)
extension HTTP2StalledReaderTimeout: Sendable {}
