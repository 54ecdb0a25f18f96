import NIOCore

/// Holds a connection's flushes until its event loop has handled every connection that was ready in this pass, then
/// flushes once.
///
/// An HTTP/2 connection's own flushes are already coalesced by NIO while it reads; but a proxy writes to a connection
/// while reading *another* one: 32 responses read off the upstream connection meant 32 flushes of the client's
/// connection, each its own TLS record and `writev`. NIO runs the tasks queued with `execute` after it has handled
/// every ready socket of the pass, so a flush queued there goes out once, with everything written in the pass.
///
/// Sits above the TLS handler (or the socket): every write still reaches it in order, only the flush waits. A close
/// flushes first, so nothing written is lost to a close that overtakes the queued flush.
public final class FlushCoalescer: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = Any
    public typealias OutboundOut = Any

    private var flushQueued = false
    /// Made once per connection, so queueing a flush allocates nothing. It holds the handler and its context (a queued
    /// flush may outlive the handler's removal); dropping it in `handlerRemoved`, which a closing pipeline calls for
    /// every handler, breaks that cycle.
    private var deferredFlush: (() -> Void)?

    public init() {}

    public func handlerAdded(context: ChannelHandlerContext) {
        self.deferredFlush = {
            guard self.flushQueued else { return }
            self.flushQueued = false
            context.flush()
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.flushNowIfQueued(context: context)
        self.deferredFlush = nil
    }

    public func flush(context: ChannelHandlerContext) {
        guard !self.flushQueued else { return }
        guard let deferredFlush = self.deferredFlush else {
            context.flush()
            return
        }
        self.flushQueued = true
        context.eventLoop.assumeIsolated().execute(deferredFlush)
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // Whatever was written before the close goes out, flushed or not (a handler above may write and close in one
        // go, as NIO's HTTP/2 connection manager does with its last GOAWAY).
        self.flushQueued = false
        context.flush()
        context.close(mode: mode, promise: promise)
    }

    private func flushNowIfQueued(context: ChannelHandlerContext) {
        guard self.flushQueued else { return }
        self.flushQueued = false
        context.flush()
    }
}

@available(*, unavailable)
extension FlushCoalescer: Sendable {}
