import NIOCore

/// Bounds how long an HTTP/1 client may take to send a request's headers once it has started one: a client that
/// trickles them (slowloris) is closed without an answer, counted as `header_read_timeout`.
///
/// Sits before the HTTP codec and sees raw bytes. The first bytes of a request arm the timer; ``HTTPProxyHandler``
/// disarms it with ``HeaderReadTimeout/Event/headReceived`` when the head is parsed and re-arms the watch with
/// ``HeaderReadTimeout/Event/exchangeDone`` when the exchange ends (both outbound user events).
final class HeaderReadTimeout: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Event: Sendable {
        case headReceived
        case exchangeDone
    }

    private let timeout: TimeAmount
    private let onTimeout: () -> Void
    private var watching = true
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount, onTimeout: @escaping () -> Void) {
        self.timeout = timeout
        self.onTimeout = onTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if self.watching && self.timer == nil {
            let channel = context.channel
            self.timer = context.eventLoop.assumeIsolated().scheduleTask(in: self.timeout) {
                self.onTimeout()
                channel.close(promise: nil)
            }
        }
        context.fireChannelRead(data)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let event = event as? Event else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch event {
        case .headReceived:
            self.watching = false
            self.timer?.cancel()
            self.timer = nil
        case .exchangeDone:
            self.watching = true
        }
        promise?.succeed()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.timer?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension HeaderReadTimeout: Sendable {}
