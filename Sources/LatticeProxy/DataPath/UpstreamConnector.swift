import LatticeModel
import LatticeProxyCore
import NIOCore
import NIOSSL
import NIOTLS

/// Dials an upstream endpoint: a plain TCP connect, or mTLS 1.3 to the peer's proxy demanding the endpoint's identity
/// followed by the transport header naming the app port and protocol. The channel comes back with autoRead off.
enum UpstreamConnector {
    /// A failure before any of the app's bytes went out (refused, reset, refused handshake) is retried once.
    static func connect(
        _ endpoint: Endpoint,
        hint: TransportHeader.ProtocolHint,
        on eventLoop: any EventLoop,
        proxy: ProxyContext
    ) -> EventLoopFuture<any Channel> {
        self.attempt(endpoint, hint: hint, on: eventLoop, proxy: proxy).flatMapError { error in
            proxy.logger.debug(
                "connect to the upstream failed; retrying once",
                metadata: ["error.type": "\(error)", "endpoint": "\(endpoint)"]
            )
            return self.attempt(endpoint, hint: hint, on: eventLoop, proxy: proxy)
        }
    }

    static func attempt(
        _ endpoint: Endpoint,
        hint: TransportHeader.ProtocolHint,
        on eventLoop: any EventLoop,
        proxy: ProxyContext
    ) -> EventLoopFuture<any Channel> {
        let timeout = TimeAmount.nanoseconds(proxy.config.connectTimeout.totalNanoseconds)
        switch endpoint {
        case .plain(let address):
            return Splice.connect(to: address, on: eventLoop, timeout: timeout)
        case .meshed(let identity, let peerProxy, let appPort):
            guard let contexts = proxy.credentials.current else {
                return eventLoop.makeFailedFuture(RotationError("no certificate yet"))
            }
            let handshake = eventLoop.makePromise(of: Void.self)
            let connected = Splice.connect(to: peerProxy, on: eventLoop, timeout: timeout) { upstream in
                upstream.eventLoop.makeCompletedFuture {
                    try upstream.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: contexts.client, serverHostname: identity)
                    )
                    try upstream.pipeline.syncOperations.addHandler(HandshakeWaiter(promise: handshake))
                }
            }
            connected.whenFailure { handshake.fail($0) }
            // A peer that accepts TCP and never finishes the handshake gets the connect timeout, not forever.
            connected.whenSuccess { upstream in
                let deadline = eventLoop.scheduleTask(in: timeout) {
                    handshake.fail(ChannelError.connectTimeout(timeout))
                    upstream.close(promise: nil)
                }
                handshake.futureResult.whenComplete { _ in deadline.cancel() }
            }
            return connected.flatMap { upstream in
                handshake.futureResult.flatMapThrowing { () -> any Channel in
                    var header = upstream.allocator.buffer(capacity: 16)
                    TransportHeader(port: UInt16(appPort), protocolHint: hint, name: "").write(into: &header)
                    upstream.writeAndFlush(header, promise: nil)
                    return upstream
                }.flatMapErrorThrowing { error in
                    upstream.close(promise: nil)
                    throw error
                }
            }
        }
    }
}

/// Completes a promise when the TLS handshake on an upstream finishes (or fails), then steps aside.
final class HandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let promise: EventLoopPromise<Void>

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        context.read()
        context.fireChannelActive()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.read()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            self.promise.succeed()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.promise.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension HandshakeWaiter: Sendable {}
