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
            // NIO's request decoder; the responses are encoded by the request handler itself with the proxy's own
            // encoder (``HTTP1ResponseEncoder``: NIO's framing and hop-by-hop headers left out, in one pass and one
            // allocation, and no response part boxed and cast on its way down the pipeline). The handler tells it each
            // request's method, as NIO's request decoder tells NIO's encoder.
            try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
            let encoder = HTTP1ResponseEncoder(dropsHopByHopHeaders: true)
            try sync.addHandler(HTTPProxyHandler(routes: routes, timeouts: timeouts, responseEncoder: encoder))
        case .http2:
            // The proxy's own app (outbound) or a proxy that proved its identity (inbound) may cancel streams at
            // will; anyone else gets NIO's flood limits.
            let trusted = route.direction == .outbound || route.clientIdentity != nil
            // Responses to many streams, read off other connections in one pass of the event loop, go out in one
            // write.
            try sync.addHandler(FlushCoalescer())
            // A client that stops reading the socket (not a stream: that is flow control) is closed after two idle
            // periods without progress, as on HTTP/1.
            try sync.addHandler(
                HTTP2StalledReaderTimeout(timeout: .nanoseconds(route.proxy.config.idleTimeout.totalNanoseconds)) {
                    route.countError("slow_reader")
                }
            )
            // On shutdown (`ChannelShouldQuiesceEvent`) or after the idle timeout with no stream open: GOAWAY with
            // the last stream ID allowed and a PING; on the PING's answer (every stream the client sent before it saw
            // the GOAWAY has arrived), GOAWAY with the last stream opened; close once those streams have finished.
            // It counts streams through the codec's stream delegate; `HTTP2ConnectionDeadlines` adds the deadlines
            // it lacks.
            let config = route.proxy.config
            let idleTimeout = TimeAmount.nanoseconds(config.idleTimeout.totalNanoseconds)
            // A client silent for the idle timeout is PINGed; one that does not answer within the longer of that
            // and 20 s (time for a slow reader to reach the PING behind what is queued for it) is ended as on
            // shutdown. Every HTTP/2 client must answer a PING, so this leaves a stream's flow control alone (a
            // paused gRPC consumer) and catches a client that stopped reading while its windows held the data back,
            // which the stalled-reader timeout cannot see.
            let connectionManager = NIOHTTP2ServerConnectionManagementHandler(
                eventLoop: channel.eventLoop,
                configuration: .init(
                    maxIdleTime: idleTimeout,
                    maxAge: nil,
                    maxGraceTime: nil,
                    keepalive: .init(pingInterval: idleTimeout, ackTimeout: max(idleTimeout, .seconds(20)))
                )
            )
            let deadlines = HTTP2ConnectionDeadlines(
                idleTimeout: idleTimeout,
                closeTimeout: .nanoseconds(max(config.idleTimeout, config.shutdownGrace).totalNanoseconds)
            ) {
                route.countError("unresponsive_client")
            }
            let streamConfiguration = trusted ? HTTP2StreamSettings.trustedPeer : NIOHTTP2Handler.StreamConfiguration()
            // Streams reset for malformed header blocks count against the limit NIO puts on its own stream errors;
            // past it the connection is closed.
            let malformedStreams = NIOLoopBound(HTTP2MalformedStreamLimit(streamConfiguration), eventLoop: channel.eventLoop)
            // Made once per connection: a closure formed in the stream initializer would copy the route into a new
            // context for every stream.
            typealias Outcome = HTTP2HeaderBlockValidator.ViolationOutcome
            let onMalformedRequest: @Sendable (HTTP2HeaderBlockRules.Violation) -> Outcome = { _ in
                route.countError("http2_stream_error")
                guard malformedStreams.value.record() else { return .connectionCarriesOn }
                route.countError("http2_malformed_stream_flood")
                return .connectionEnds
            }
            _ = try sync.configureHTTP2Pipeline(
                mode: .server,
                connectionConfiguration: HTTP2HeaderBlockValidator.codecConfiguration,
                streamConfiguration: streamConfiguration,
                streamDelegate: deadlines.streamDelegate(
                    passingOnTo: connectionManager.http2StreamDelegate, on: channel.eventLoop
                )
            ) { stream in
                do {
                    // The client's header blocks are checked here rather than by the codec (see
                    // HTTP2HeaderBlockRules); a malformed one resets its stream only.
                    try stream.pipeline.syncOperations.addHandler(
                        HTTP2HeaderBlockValidator(role: .receivesRequests, onViolation: onMalformedRequest)
                    )
                    // The proxy's own codec, for a request that goes upstream on HTTP/2 too (see HTTP2HeadConversion).
                    try stream.pipeline.syncOperations.addHandler(HTTP2ServerStreamCodec())
                    try stream.pipeline.syncOperations.addHandler(HTTPProxyHandler(routes: routes))
                    // The event loop's cached succeeded future: no future made for every stream.
                    return stream.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return stream.eventLoop.makeFailedFuture(error)
                }
            }
            // Between the codec and the manager, to see the manager's GOAWAY go out.
            try sync.addHandler(deadlines)
            try sync.addHandler(connectionManager)
            try sync.addHandler(HTTP2ConnectionErrorCounter(route: route))
        }
    }
}

/// Counts HTTP/2 connection errors (a bad preface, a protocol violation) and closes the connection; counts stream
/// errors (a request with a malformed header block, a body that breaks its content-length), which the codec has
/// answered with RST_STREAM, and leaves the other streams be.
final class HTTP2ConnectionErrorCounter: ChannelInboundHandler {
    typealias InboundIn = Any
    let route: HTTPRoute

    init(route: HTTPRoute) {
        self.route = route
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if HTTP2ErrorScope(of: error) == .stream {
            // A stream opened after the proxy's GOAWAY (an idle or shutdown drain) is refused as the protocol says:
            // routine, not an error.
            if let wrapped = error as? NIOHTTP2Errors.StreamError, wrapped.baseError is NIOHTTP2Errors.CreatedStreamAfterGoaway {
                return
            }
            self.route.countError("http2_stream_error")
            self.route.proxy.logger.debug("HTTP/2 stream reset", metadata: ["error.type": "\(error)"])
            return
        }
        self.route.countError("http2_protocol_error")
        self.route.proxy.logger.debug("HTTP/2 connection failed", metadata: ["error.type": "\(error)"])
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension HTTP2ConnectionErrorCounter: Sendable {}
