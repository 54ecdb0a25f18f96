import NIOCore

/// Counts an HTTP connection's bytes into its `tcp_*` series (the splice's counterpart for connections the proxy
/// parses): bytes read from the client and written to it, one atomic add per read or write, and the close.
final class ConnectionByteCounter: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let metrics: ConnectionMetrics
    /// Outbound, the series is about the server (`peer="dst"`): what the client sends is written to it.
    private let clientIsPeer: Bool
    private var closed = false

    init(metrics: ConnectionMetrics, clientIsPeer: Bool) {
        self.metrics = metrics
        self.clientIsPeer = clientIsPeer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = Int64(ConnectionByteCounter.unwrapInboundIn(data).readableBytes)
        (self.clientIsPeer ? self.metrics.read : self.metrics.write).add(count)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let count = Int64(ConnectionByteCounter.unwrapOutboundIn(data).readableBytes)
        (self.clientIsPeer ? self.metrics.write : self.metrics.read).add(count)
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !self.closed {
            self.closed = true
            self.metrics.closed()
        }
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension ConnectionByteCounter: Sendable {}
