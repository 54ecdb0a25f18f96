import LatticeProxyCore
import NIOCore
import NIOHTTP1
import NIOHTTP2

/// Puts the client side of an HTTP connection in place: the HTTP/1 server codec with pipelining and error handling
/// (a malformed request gets a 400 and the connection is closed), or the HTTP/2 server with one
/// ``HTTPProxyHandler`` per stream. The caller replays the bytes it read while detecting and turns autoRead on.
enum HTTPServerSide {
    static func configure(channel: any Channel, routes: RouteSource) throws {
        let route = routes.current()
        let sync = channel.pipeline.syncOperations
        switch route.kind {
        case .http1:
            // A request's headers must arrive within the header timeout; a keep-alive connection with nothing in
            // flight for the idle timeout is closed.
            let timeouts = HTTP1ConnectionTimeouts(
                headerTimeout: .nanoseconds(route.proxy.config.headerReadTimeout.totalNanoseconds),
                idleTimeout: .nanoseconds(route.proxy.config.idleTimeout.totalNanoseconds)
            ) {
                route.countError("header_read_timeout")
            } onSlowReader: {
                route.countError("slow_reader")
            }
            try sync.addHandler(timeouts)
            // Pipelined requests are queued by HTTPProxyHandler itself: NIO's pipelining handler would stop and restart
            // reading around every request (two epoll changes per request).
            // No outbound header validation: responses written here were parsed from the upstream by llhttp in strict
            // mode (see EndpointHTTPClient), or made by the proxy from constants. A request the decoder refuses is
            // answered 400 by HTTPProxyHandler.
            try sync.configureHTTPServerPipeline(
                withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false
            )
            try sync.addHandler(HTTPProxyHandler(routes: routes, timeouts: timeouts))
        case .http2:
            // The proxy's own app (outbound) or a proxy that proved its identity (inbound) may cancel streams at
            // will; anyone else gets NIO's flood limits.
            let trusted = route.direction == .outbound || route.clientIdentity != nil
            // Responses to many streams, read off other connections in one pass of the event loop, go out in one
            // write.
            try sync.addHandler(FlushCoalescer())
            // On shutdown (`ChannelShouldQuiesceEvent`) or after the idle timeout with no stream open: GOAWAY with
            // the last stream ID allowed and a PING; on the PING's answer (every stream the client sent before it saw
            // the GOAWAY has arrived), GOAWAY with the last stream opened; close once those streams have finished.
            // It counts streams through the codec's stream delegate; `HTTP2ConnectionDeadlines` adds the deadlines
            // it lacks.
            let config = route.proxy.config
            let idleTimeout = TimeAmount.nanoseconds(config.idleTimeout.totalNanoseconds)
            let connectionManager = NIOHTTP2ServerConnectionManagementHandler(
                eventLoop: channel.eventLoop,
                configuration: .init(maxIdleTime: idleTimeout, maxAge: nil, maxGraceTime: nil, keepalive: nil)
            )
            let deadlines = HTTP2ConnectionDeadlines(
                idleTimeout: idleTimeout,
                closeTimeout: .nanoseconds(max(config.idleTimeout, config.shutdownGrace).totalNanoseconds)
            )
            _ = try sync.configureHTTP2Pipeline(
                mode: .server,
                connectionConfiguration: .init(),
                streamConfiguration: trusted ? HTTP2StreamSettings.trustedPeer : .init(),
                streamDelegate: deadlines.streamDelegate(
                    passingOnTo: connectionManager.http2StreamDelegate, on: channel.eventLoop
                )
            ) { stream in
                stream.eventLoop.makeCompletedFuture {
                    try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                    try stream.pipeline.syncOperations.addHandler(HTTPProxyHandler(routes: routes))
                }
            }
            // Between the codec and the manager, to see the manager's GOAWAY go out.
            try sync.addHandler(deadlines)
            try sync.addHandler(connectionManager)
            try sync.addHandler(HTTP2ConnectionErrorCounter(route: route))
        }
    }
}

/// Counts HTTP/2 connection errors (a bad preface, a protocol violation) and closes the connection.
final class HTTP2ConnectionErrorCounter: ChannelInboundHandler {
    typealias InboundIn = Any
    let route: HTTPRoute

    init(route: HTTPRoute) {
        self.route = route
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A stream's error has already reset that stream; the other streams carry on.
        if error is NIOHTTP2Errors.StreamError { return }
        self.route.countError("http2_protocol_error")
        self.route.proxy.logger.debug("HTTP/2 connection failed", metadata: ["error.type": "\(error)"])
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension HTTP2ConnectionErrorCounter: Sendable {}

/// Two deadlines NIO's connection manager lacks on a client's HTTP/2 connection:
/// - **first stream**: the manager starts its idle clock when the connection becomes active, which it was before the
///   proxy knew it was HTTP/2; until a first stream opens, this handler keeps that clock and, at the idle timeout,
///   asks the manager to end the connection as on shutdown;
/// - **close**: the manager sends its second GOAWAY (the last stream opened) only once the client has answered the
///   PING that follows its first, so a client that never answers would hold the connection for good; from that first
///   GOAWAY, this handler closes the connection after `closeTimeout` unless the second one has gone out (the streams
///   it admits then finish at their pace; on shutdown the listener's drain deadline bounds them).
///
/// Sits between the codec and the manager, so the manager's GOAWAY frames pass through it.
final class HTTP2ConnectionDeadlines: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// Tells the handler, on the connection's event loop, that a stream opened, and passes every stream event on.
    struct StreamDelegate: NIOHTTP2StreamDelegate {
        fileprivate let deadlines: NIOLoopBound<HTTP2ConnectionDeadlines>
        fileprivate let next: any NIOHTTP2StreamDelegate

        func streamCreated(_ id: HTTP2StreamID, channel: any Channel) {
            self.deadlines.value.streamOpened()
            self.next.streamCreated(id, channel: channel)
        }

        func streamClosed(_ id: HTTP2StreamID, channel: any Channel) {
            self.next.streamClosed(id, channel: channel)
        }
    }

    private let idleTimeout: TimeAmount
    private let closeTimeout: TimeAmount
    private var firstStreamTimer: Scheduled<Void>?
    private var closeTimer: Scheduled<Void>?
    private var opened = false
    /// The manager's second GOAWAY has gone out: the client answered the PING.
    private var pingAnswered = false

    init(idleTimeout: TimeAmount, closeTimeout: TimeAmount) {
        self.idleTimeout = idleTimeout
        self.closeTimeout = closeTimeout
    }

    func streamDelegate(passingOnTo next: any NIOHTTP2StreamDelegate, on eventLoop: any EventLoop) -> StreamDelegate {
        StreamDelegate(deadlines: NIOLoopBound(self, eventLoop: eventLoop), next: next)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard !self.opened else { return }
        self.firstStreamTimer = context.eventLoop.assumeIsolated().scheduleTask(in: self.idleTimeout) {
            self.firstStreamTimer = nil
            context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.firstStreamTimer?.cancel()
        self.firstStreamTimer = nil
        self.closeTimer?.cancel()
        self.closeTimer = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .goAway(let lastStreamID, _, _) = Self.unwrapOutboundIn(data).payload {
            if lastStreamID == .maxID {
                if self.closeTimer == nil && !self.pingAnswered {
                    self.closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: self.closeTimeout) {
                        self.closeTimer = nil
                        context.close(promise: nil)
                    }
                }
            } else {
                self.pingAnswered = true
                self.closeTimer?.cancel()
                self.closeTimer = nil
            }
        }
        context.write(data, promise: promise)
    }

    private func streamOpened() {
        self.opened = true
        self.firstStreamTimer?.cancel()
        self.firstStreamTimer = nil
    }
}

@available(*, unavailable)
extension HTTP2ConnectionDeadlines: Sendable {}
