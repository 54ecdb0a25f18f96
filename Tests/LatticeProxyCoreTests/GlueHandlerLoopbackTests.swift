import LatticeProxyCore
import NIOCore
import NIOPosix
import Testing

extension Tag {
    /// Tests on real loopback sockets.
    @Tag static var integration: Self
}

/// A splice over real loopback sockets: the half-close and close behaviour that `EmbeddedChannel` can't show.
@Suite(.tags(.integration), .timeLimit(.minutes(1))) struct GlueHandlerLoopbackTests {
    /// Reads the request until the client half-closes, then answers with `responseSize` bytes and half-closes.
    private final class Server: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let responseSize: Int
        var requestBytes = 0

        init(responseSize: Int) {
            self.responseSize = responseSize
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            self.requestBytes += self.unwrapInboundIn(data).readableBytes
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            guard event as? ChannelEvent == .inputClosed else {
                return
            }
            // The request size, then filler, in 64 KiB writes.
            var remaining = self.responseSize
            var first = context.channel.allocator.buffer(capacity: 8)
            first.writeInteger(UInt64(self.requestBytes))
            remaining -= 8
            context.write(self.wrapOutboundOut(first), promise: nil)
            var lastWrite: EventLoopFuture<Void>?
            while remaining > 0 {
                let chunk = min(remaining, 64 * 1024)
                let promise = context.eventLoop.makePromise(of: Void.self)
                context.write(self.wrapOutboundOut(ByteBuffer(repeating: 0x61, count: chunk)), promise: promise)
                lastWrite = promise.futureResult
                remaining -= chunk
            }
            context.flush()
            // The input is already shut, so closing the output would close fully and drop unwritten bytes: wait.
            lastWrite?.assumeIsolated().whenComplete { _ in
                context.close(mode: .output, promise: nil)
            }
        }
    }

    /// Sends the request, half-closes, and reports how many bytes came back before the end of input.
    private final class Client: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        let request: ByteBuffer
        let done: EventLoopPromise<(Int, UInt64?)>
        var received = 0
        var reportedRequestSize: UInt64?

        init(request: ByteBuffer, done: EventLoopPromise<(Int, UInt64?)>) {
            self.request = request
            self.done = done
        }

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(self.wrapOutboundOut(self.request), promise: nil)
            context.close(mode: .output, promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = self.unwrapInboundIn(data)
            if self.received == 0 {
                self.reportedRequestSize = bytes.getInteger(at: bytes.readerIndex, as: UInt64.self)
            }
            self.received += bytes.readableBytes
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event as? ChannelEvent == .inputClosed {
                self.done.succeed((self.received, self.reportedRequestSize))
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            self.done.succeed((self.received, self.reportedRequestSize))
        }
    }

    @Test func requestThenHalfCloseThenLargeResponseCrossesTheSplice() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let responseSize = 2 * 1024 * 1024 + 3
        let requestSize = 300_000

        let server = try await ServerBootstrap(group: group)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Server(responseSize: responseSize))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let serverAddress = try #require(server.localAddress)

        // Small socket buffers towards the client keep bytes queued in the proxy when the upstream's end of input
        // arrives: closing at once would lose them.
        let proxy = try await ServerBootstrap(group: group)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.socketOption(.so_sndbuf), value: 4096)
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop)
                    .channelOption(.allowRemoteHalfClosure, value: true)
                    .connect(to: serverAddress)
                    .flatMapThrowing { upstream in
                        let (inboundGlue, upstreamGlue) = GlueHandler.matchedPair()
                        try inbound.pipeline.syncOperations.addHandler(inboundGlue)
                        try upstream.pipeline.syncOperations.addHandler(upstreamGlue)
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let proxyAddress = try #require(proxy.localAddress)

        let done = group.next().makePromise(of: (Int, UInt64?).self)
        let client = try await ClientBootstrap(group: group)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.socketOption(.so_rcvbuf), value: 4096)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let request = ByteBuffer(repeating: 0x72, count: requestSize)
                    try channel.pipeline.syncOperations.addHandler(Client(request: request, done: done))
                }
            }
            .connect(to: proxyAddress).get()

        let (received, reportedRequestSize) = try await done.futureResult.get()
        #expect(received == responseSize)
        #expect(reportedRequestSize == UInt64(requestSize))

        // Both halves of the splice close once both directions are done.
        try await client.closeFuture.get()
        try await server.close()
        try await proxy.close()
    }
}
