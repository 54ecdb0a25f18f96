import LatticeModel
import LatticeProxyCore
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// The outbound path of one app connection: to a meshed upstream, mTLS 1.3 to the peer's proxy demanding the
/// upstream's identity, with a transport header naming the app port; to anything else, plain TCP, counted as
/// `tls="no_identity"` and never silent.
enum OutboundPath {
    static func start(channel: any Channel, upstream: Upstream, proxy: ProxyContext) {
        switch upstream.target {
        case .plain(let target):
            let labels = ConnectionLabels(
                direction: .outbound,
                tls: "no_identity",
                noTLSReason: "not_provided_by_service_discovery",
                targetAddress: target.description
            )
            proxy.logger.debug("forwarding without mTLS: the target is not meshed", metadata: ["target": "\(target)"])
            let metrics = proxy.metrics.connection(labels)
            metrics.opened()
            Splice.connect(to: target, on: channel.eventLoop, timeout: self.timeout(proxy))
                .whenComplete { result in
                    self.finish(result, channel: channel, metrics: metrics, proxy: proxy)
                }
        case .meshed(let identity, let peerProxy, let appPort):
            let labels = ConnectionLabels(
                direction: .outbound,
                tls: "true",
                serverID: identity,
                targetAddress: peerProxy.description
            )
            proxy.whenReady(channel: channel) { @Sendable in
                let metrics = proxy.metrics.connection(labels)
                metrics.opened()
                self.connectMeshed(
                    channel: channel,
                    identity: identity,
                    peerProxy: peerProxy,
                    appPort: appPort,
                    proxy: proxy,
                    attempt: 1
                ).whenComplete { result in
                    self.finish(result, channel: channel, metrics: metrics, proxy: proxy)
                }
            }
        }
    }

    /// Dials the peer's proxy with mTLS, waits for the handshake, writes the transport header. A failure before any
    /// of the app's bytes went out (refused, reset or refused handshake) is retried once.
    static func connectMeshed(
        channel: any Channel,
        identity: String,
        peerProxy: HostPort,
        appPort: Int,
        proxy: ProxyContext,
        attempt: Int
    ) -> EventLoopFuture<any Channel> {
        guard let contexts = proxy.credentials.current else {
            return channel.eventLoop.makeFailedFuture(RotationError("no certificate yet"))
        }
        let eventLoop = channel.eventLoop
        let handshake = eventLoop.makePromise(of: Void.self)
        let connected = Splice.connect(to: peerProxy, on: eventLoop, timeout: self.timeout(proxy)) { upstream in
            upstream.eventLoop.makeCompletedFuture {
                try upstream.pipeline.syncOperations.addHandler(
                    NIOSSLClientHandler(context: contexts.client, serverHostname: identity)
                )
                try upstream.pipeline.syncOperations.addHandler(HandshakeWaiter(promise: handshake))
            }
        }
        connected.whenFailure { handshake.fail($0) }
        let ready = connected.flatMap { upstream in
            handshake.futureResult.flatMapThrowing { () -> any Channel in
                var header = upstream.allocator.buffer(capacity: 16)
                TransportHeader(port: UInt16(appPort), protocolHint: .opaque, name: "").write(into: &header)
                upstream.writeAndFlush(header, promise: nil)
                return upstream
            }.flatMapErrorThrowing { error in
                upstream.close(promise: nil)
                throw error
            }
        }
        guard attempt == 1 else { return ready }
        return ready.flatMapError { error in
            proxy.logger.debug("connect to the peer proxy failed; retrying once", metadata: ["error.type": "\(error)"])
            return self.connectMeshed(
                channel: channel,
                identity: identity,
                peerProxy: peerProxy,
                appPort: appPort,
                proxy: proxy,
                attempt: 2
            )
        }
    }

    static func finish(
        _ result: Result<any Channel, any Error>,
        channel: any Channel,
        metrics: ConnectionMetrics,
        proxy: ProxyContext
    ) {
        switch result {
        case .success(let upstream):
            Splice.joinOrClose(downstream: channel, upstream: upstream, metrics: metrics, peerIsUpstream: true)
        case .failure(let error):
            metrics.closed()
            proxy.metrics.outboundFailed.cell(["reason": OutboundFailure.classify(error)]).add(1)
            proxy.logger.info("outbound connection failed", metadata: ["error.type": "\(error)"])
            channel.close(promise: nil)
        }
    }

    static func timeout(_ proxy: ProxyContext) -> TimeAmount {
        .nanoseconds(proxy.config.connectTimeout.totalNanoseconds)
    }
}

/// Closed set of outbound failure reasons, for `lattice_outbound_connections_failed_total{reason}`.
enum OutboundFailure {
    static func classify(_ error: any Error) -> String {
        switch error {
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError: return "tls_handshake_failed"
        case is ChannelError, is NIOConnectionError, is IOError: return "connect_failed"
        case is RotationError: return "no_certificate"
        default: return "error"
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
