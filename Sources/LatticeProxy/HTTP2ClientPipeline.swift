import NIOCore
import NIOHTTP2
import NIOSSL

/// The pipeline of a client HTTP/2 connection over TLS to the controller, put in place before the connection is
/// (from the bootstrap's channel initializer): TLS, the HTTP/2 codec and multiplexer, and a handler that closes the
/// connection on a connection-level error.
///
/// Adding the HTTP/2 handlers once the connect had returned left a window in which the controller's SETTINGS, sent
/// right after the TLS handshake, could be read with no HTTP/2 handler there to take them: they were dropped, the
/// codec then refused the connection's next frame, and the call waited for its deadline (a proxy's first certificate
/// took 10 s, now and then).
enum HTTP2ClientPipeline {
    static func configure(_ channel: any Channel, context: NIOSSLContext, serverName: String) -> EventLoopFuture<Void> {
        do {
            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return channel.configureHTTP2Pipeline(mode: .client, inboundStreamInitializer: nil).flatMapThrowing { _ in
            try channel.pipeline.syncOperations.addHandler(
                HTTP2ConnectionErrorCloser(keepsOpenAfterGoAwayRefusal: false)
            )
        }
    }
}

/// Closes an HTTP/2 connection on a connection-level error: the codec has sent GOAWAY and opens no more streams,
/// so a connection left open would keep every waiting call waiting.
///
/// With `keepsOpenAfterGoAwayRefusal`, not on `CreatedStreamAfterGoaway`: after the peer's GOAWAY, a new stream the
/// codec was holding back (the peer's stream limit reached) fails that way when a slot frees, though NIO reports it
/// as a connection error. For the proxy's upstream connections that is right: the connection is fine for the streams
/// the GOAWAY let through, its `GoAwayWatcher` closes it once they end, and the failed stream's request is sent again
/// elsewhere (it never left). The control-plane connection has no such watcher: there, closing is how a GOAWAY leads
/// to a new connection, so it keeps closing.
final class HTTP2ConnectionErrorCloser: ChannelInboundHandler {
    typealias InboundIn = Any
    private let keepsOpenAfterGoAwayRefusal: Bool

    init(keepsOpenAfterGoAwayRefusal: Bool) {
        self.keepsOpenAfterGoAwayRefusal = keepsOpenAfterGoAwayRefusal
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The codec has reset that stream (its call fails on its own); the others carry on.
        if HTTP2ErrorScope(of: error) == .stream { return }
        if self.keepsOpenAfterGoAwayRefusal && error is NIOHTTP2Errors.CreatedStreamAfterGoaway { return }
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension HTTP2ConnectionErrorCloser: Sendable {}
