import NIOCore

/// Holds the bytes a connection sends while its upstream is being connected, and hands them on, in order, when it
/// is removed from the pipeline (by then the splice is in place behind it). Runs on the connection's event loop.
///
/// The accepted channel has autoRead off, so only what was already read is held; a connection that sends more
/// than ``limit`` before the upstream is ready is closed.
final class PendingDataHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var pending: [ByteBuffer] = []
    private var pendingBytes = 0
    private var inputClosed = false
    private let limit: Int

    init(initial: ByteBuffer? = nil, limit: Int = 256 * 1024) {
        self.limit = limit
        if let initial, initial.readableBytes > 0 {
            self.pending.append(initial)
            self.pendingBytes = initial.readableBytes
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = PendingDataHandler.unwrapInboundIn(data)
        self.pendingBytes += buffer.readableBytes
        self.pending.append(buffer)
        if self.pendingBytes > self.limit {
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            self.inputClosed = true
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        for buffer in self.pending {
            context.fireChannelRead(PendingDataHandler.wrapInboundOut(buffer))
        }
        if !self.pending.isEmpty { context.fireChannelReadComplete() }
        self.pending = []
        if self.inputClosed { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
        context.leavePipeline(removalToken: removalToken)
    }
}

@available(*, unavailable)
extension PendingDataHandler: Sendable {}
