import LatticeProxyCore
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOSSL

/// Proxies the requests of one client HTTP/1 connection (one at a time, pipelined requests wait their turn) or of one
/// HTTP/2 stream, each to an endpoint the route's balancer picks, with the response streamed back as it arrives.
///
/// Back-pressure both ways: when the side being written to stops being writable, the other side stops reading.
/// Every request is counted (`request_total`), every response with its status and latency (`response_total`,
/// `response_latency_ms`). Runs on the connection's event loop; the upstream shares it.
final class HTTPProxyHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// One request in progress.
    final class Exchange {
        let head: HTTPRequestHead
        let started: NIODeadline
        let isGRPC: Bool
        let keepAlive: Bool
        var buffered: [HTTPServerRequestPart] = []
        var requestEnded = false
        var responseEnded = false
        var responseStarted = false
        var answeredByProxy = false
        var upstream: UpstreamExchange?
        var endpoint: Int?
        var statusCode = 0
        var grpcStatus: Int?
        var upstreamKeepAlive = true
        var trailersOnly: HTTPHeaders?
        var attempts = 0
        /// The write of the response's end, so a close waits for it to reach the socket.
        var responseWritten: EventLoopFuture<Void>?
        /// The body parts sent upstream so far, kept (up to ``replayLimit`` bytes) so that a request sent on a pooled
        /// connection the upstream had just closed can be sent again on another one.
        var replay: [HTTPServerRequestPart] = []
        /// Whether the request's end went upstream too, and its trailers: kept apart from `replay`, so a request
        /// without a body (most of them) costs no array.
        var replayEnded = false
        var replayTrailers: HTTPHeaders?
        var replayBytes = 0
        var replayable = true

        static let replayLimit = 64 * 1024

        func sent(_ part: HTTPServerRequestPart) {
            guard self.replayable else { return }
            switch part {
            case .head:
                return
            case .end(let trailers):
                self.replayEnded = true
                self.replayTrailers = trailers
            case .body(let buffer):
                self.replayBytes += buffer.readableBytes
                if self.replayBytes > Self.replayLimit {
                    self.replayable = false
                    self.replay = []
                } else {
                    self.replay.append(part)
                }
            }
        }

        /// The parts to send again on another connection, in order; forgets them.
        func takeReplay() -> [HTTPServerRequestPart] {
            var parts = self.replay
            if self.replayEnded { parts.append(.end(self.replayTrailers)) }
            self.replay = []
            self.replayEnded = false
            self.replayTrailers = nil
            self.replayBytes = 0
            return parts
        }

        init(head: HTTPRequestHead) {
            self.head = head
            self.started = .now()
            self.isGRPC = head.headers.first(name: "content-type")?.hasPrefix("application/grpc") == true
            // NIO's decoder (llhttp) reads nothing more of a connection after CONNECT or an upgrade request (it
            // expects the protocol to change): such a connection closes after its answer, rather than leave the next
            // request unread, and the client reads that answer to the close.
            let changesProtocol = head.method == .CONNECT || head.headers.contains(name: "upgrade")
            self.keepAlive = head.isKeepAlive && !changesProtocol
        }
    }

    private var route: HTTPRoute
    /// The version of ``route`` (``RouteSource/changed(since:)``).
    private var routeVersion: Int
    private let routes: RouteSource
    private var current: Exchange?
    private var context: ChannelHandlerContext?
    private var needsUpstreamFlush = false
    private var closeAfterResponse = false
    /// HTTP/1, shutting down (`ChannelShouldQuiesceEvent`): the request in flight is answered, nothing after it is
    /// started, and the connection closes.
    private var quiescing = false
    /// HTTP/1: a pipelined request the decoder refused, to be answered 400 once the requests read before it have
    /// had their responses (a 400 written earlier would be read by the client as the answer to one of those).
    private var refusalOwed = false
    /// Inside a read burst from the client: upstream writes wait for its channelReadComplete to be flushed together.
    private var inReadBurst = false
    /// The error code an HTTP/2 stream was reset with (by the client, or by the codec), once it has been.
    private var streamResetCode: HTTP2ErrorCode?

    /// HTTP/1: the connection's header and idle timeouts, told when each exchange starts and ends.
    private let timeouts: HTTP1ConnectionTimeouts?

    /// HTTP/1: the encoder the responses are written through (``send(_:closing:context:promise:)``), told each request's
    /// method so that it frames the answer to HEAD and CONNECT without a body.
    private let responseEncoder: HTTP1ResponseEncoder?

    init(routes: RouteSource, timeouts: HTTP1ConnectionTimeouts? = nil, responseEncoder: HTTP1ResponseEncoder? = nil) {
        self.routes = routes
        self.timeouts = timeouts
        self.responseEncoder = responseEncoder
        (self.route, self.routeVersion) = routes.currentWithVersion()
    }

    private var isHTTP1: Bool { self.route.kind == .http1 }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: Client side

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.inReadBurst = true
        let part = HTTPProxyHandler.unwrapInboundIn(data)
        // Every request read is owed a response, in order: the encoder learns its method now (as NIO's decoder tells
        // NIO's encoder), whether the request is handled now, queued behind others, or refused later.
        if case .head(let head) = part { self.responseEncoder?.expectResponse(to: head.method) }
        // Shutting down: a part of a request not yet started is dropped (the connection closes after the one in flight).
        if self.quiescing, self.current.map({ $0.requestEnded }) ?? true { return }
        if self.isHTTP1, !self.queued.isEmpty || self.current?.requestEnded == true {
            // A pipelined request: HTTP/1 answers in order, so it waits for the response in flight. Past the limit the
            // client is read no further until the queue drains.
            self.queued.append(part)
            if self.queued.count >= Self.queuedPartsLimit { self.setClientReading(context.channel, false) }
            return
        }
        self.handle(part, context: context)
    }

    /// Whether the client's channel reads: only this handler turns it off and on, so a change costs a channel option
    /// call (and an epoll change) only when it is one.
    private var clientReading = true

    private func setClientReading(_ channel: any Channel, _ on: Bool) {
        // After a refused request nothing more is read: the 400 owed for it ends the connection.
        guard on != self.clientReading, !(on && self.refusalOwed) else { return }
        self.clientReading = on
        Self.setAutoRead(channel, on)
    }

    /// Parts of pipelined requests waiting for the exchange in flight to end; bounded by ``queuedPartsLimit``. An
    /// array, empty without storage until a client pipelines: a `CircularBuffer` allocates 16 slots at once, for
    /// every HTTP/2 stream too (~800 instructions each), where pipelining never happens.
    private var queued: [HTTPServerRequestPart] = []
    private var draining = false
    static let queuedPartsLimit = 64

    /// Starts the pipelined requests that waited, in order, once nothing is in flight.
    private func drainQueued(context: ChannelHandlerContext) {
        guard !self.draining, !self.queued.isEmpty else { return }
        self.draining = true
        // Like a read burst from the client: the parts' upstream writes are flushed together at the end.
        let wasInReadBurst = self.inReadBurst
        self.inReadBurst = true
        while let next = self.queued.first, self.context != nil, self.current.map({ !$0.requestEnded }) ?? true {
            self.queued.removeFirst()
            self.handle(next, context: context)
        }
        self.inReadBurst = wasInReadBurst
        self.draining = false
        if !wasInReadBurst { self.flushUpstream() }
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            guard self.current == nil else {
                // A request can't start while another is being read: the decoder never delivers that.
                self.route.countError("protocol_error")
                context.close(promise: nil)
                return
            }
            // Between exchanges the route may follow a new discovery or policy answer.
            if let changed = self.routes.changed(since: &self.routeVersion) { self.route = changed }
            self.route.proxy.activity.bump()
            let exchange = Exchange(head: head)
            self.current = exchange
            self.timeouts?.exchangeStarted()
            if let authorizer = self.route.authorizer, let reason = authorizer.authorize(head) {
                self.metrics(exchange).requests.add(1)
                self.answer(exchange, .forbidden(reason.rawValue), context: context)
                return
            }
            self.connect(exchange, context: context)
        case .body(let buffer):
            guard let exchange = self.current, !exchange.answeredByProxy else { return }
            if let upstream = exchange.upstream {
                guard !upstream.isFinished else { return }
                upstream.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
                exchange.sent(.body(buffer))
                self.needsUpstreamFlush = true
            } else {
                exchange.buffered.append(.body(buffer))
            }
        case .end(let trailers):
            guard let exchange = self.current else { return }
            exchange.requestEnded = true
            if !exchange.answeredByProxy {
                if let upstream = exchange.upstream {
                    if !upstream.isFinished {
                        upstream.write(HTTPClientRequestPart.end(trailers), promise: nil)
                        exchange.sent(.end(trailers))
                        self.needsUpstreamFlush = true
                    }
                } else {
                    exchange.buffered.append(.end(trailers))
                }
            }
            self.completeIfDone(exchange, context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.inReadBurst = false
        self.flushUpstream()
        context.fireChannelReadComplete()
    }

    /// Sends what the request's parts wrote upstream during a read burst (or a drain of pipelined requests).
    private func flushUpstream() {
        if self.needsUpstreamFlush, let upstream = self.current?.upstream, !upstream.isFinished {
            upstream.channel.flush()
        }
        self.needsUpstreamFlush = false
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if let upstream = self.current?.upstream, !upstream.isFinished {
            upstream.setReading(context.channel.isWritable)
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, self.isHTTP1 {
            // The proxy is shutting down: an idle connection closes now; a busy one answers the request in flight and
            // then closes, and the pipelined requests behind it are never started (their client sees the close before
            // any answer and may send them again elsewhere). HTTP/2 connections get a GOAWAY from the codec instead.
            self.quiescing = true
            self.closeAfterResponse = true
            self.queued.removeAll()
            if self.current == nil { context.close(promise: nil) }
            return
        }
        if case ChannelEvent.inputClosed = event, self.isHTTP1 {
            // The client finished sending: nothing more will come, so close once the responses still owed are out.
            if self.current == nil && self.queued.isEmpty {
                context.close(promise: nil)
            } else {
                self.closeAfterResponse = true
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.queued.removeAll()
        if let exchange = self.current {
            self.current = nil
            if !exchange.responseEnded && !self.closeWasCounted(context) { self.route.countError("client_closed") }
            self.release(exchange, reusable: false)
        }
        context.fireChannelInactive()
    }

    /// Whether the connection or stream closing under an unfinished exchange was the proxy's own doing, already
    /// counted under its reason: a reader the HTTP/1 timeouts closed for taking nothing (`slow_reader`), an HTTP/2
    /// connection ended for not reading (`slow_reader`) or not answering a PING (`unresponsive_client`), or a stream
    /// the codec reset for a protocol error (`http2_stream_error`). Looked up only on this error path.
    private func closeWasCounted(_ context: ChannelHandlerContext) -> Bool {
        if self.timeouts?.closedSlowReader == true { return true }
        if let code = self.streamResetCode, code != .cancel, code != .noError { return true }
        guard !self.isHTTP1, let connection = context.channel.parent?.pipeline.syncOperations else { return false }
        if let stalled = try? connection.handler(type: HTTP2StalledReaderTimeout.self), stalled.closedStalledReader {
            return true
        }
        if let deadlines = try? connection.handler(type: HTTP2ConnectionDeadlines.self), deadlines.closedUnresponsive {
            return true
        }
        return false
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let closed = error as? NIOHTTP2Errors.StreamClosed {
            // An HTTP/2 stream reset (by the client, or by the codec for a protocol error): a close, which
            // channelInactive counts if the response had not ended; not an error of its own.
            self.streamResetCode = closed.errorCode
            context.close(promise: nil)
            return
        }
        switch error {
        case is HTTPParserError: self.route.countError("malformed_request")
        case is NIOSSLError, is BoringSSLError: self.route.countError("tls_error")
        default: self.route.countError("client_error")
        }
        self.route.proxy.logger.debug("client connection failed", metadata: ["error.type": "\(error)"])
        if error is HTTPParserError, self.isHTTP1 {
            if let current = self.current, current.requestEnded {
                // The bad bytes follow whole requests (the one in flight, maybe some queued): those are still owed
                // their responses, in order, and the 400 comes after them. A request the error cut short is dropped.
                while let last = self.queued.last {
                    if case .end = last { break }
                    self.queued.removeLast()
                }
                self.refusalOwed = true
                self.setClientReading(context.channel, false)
                return
            }
            if self.current.map({ !$0.responseStarted }) ?? true {
                // The request being read is the bad one and nothing has been answered for it yet: 400, then close.
                self.refuseMalformed(context: context)
                return
            }
        }
        context.close(promise: nil)
    }

    /// A 400 for a request the decoder refused, then close. (This is NIO's HTTPServerProtocolErrorHandler's job, done
    /// here: that handler cost a hop and a cast on every part of every response.)
    private func refuseMalformed(context: ChannelHandlerContext) {
        self.queued.removeAll()
        self.refusalOwed = false
        let parts = ProxyResponse.malformed.parts(grpc: false, keepAlive: false, allocator: context.channel.allocator)
        for part in parts.dropLast() { self.send(part, closing: true, context: context) }
        let channel = context.channel
        let written = context.eventLoop.makePromise(of: Void.self)
        self.send(parts[parts.count - 1], closing: true, context: context, promise: written)
        context.flush()
        written.futureResult.whenComplete { _ in channel.close(promise: nil) }
    }

    /// After an exchange ended with the connection kept: the next pipelined request starts, or, once every request
    /// read before a refused one has been answered, the 400 owed for it goes out.
    private func startNext(context: ChannelHandlerContext) {
        self.drainQueued(context: context)
        if self.refusalOwed, self.current == nil, self.queued.isEmpty {
            self.refuseMalformed(context: context)
        }
    }

    // MARK: Upstream

    private func connect(_ exchange: Exchange, context: ChannelHandlerContext) {
        guard !self.route.upstream.clients.isEmpty else {
            // Discovery knows the service but nothing ready stands behind it.
            if exchange.attempts == 0 { self.metrics(exchange).requests.add(1) }
            self.answer(exchange, .unavailable("no_endpoints"), context: context)
            return
        }
        exchange.attempts += 1
        let balancer = self.route.upstream.balancer
        let index = exchange.endpoint.map { balancer.pick(excluding: $0) } ?? balancer.pick()
        exchange.endpoint = index
        balancer.begin(index)
        if exchange.attempts == 1 { self.metrics(exchange).requests.add(1) }
        let client = self.route.upstream.clients[index]
        // An idle pooled connection is taken at once, with no callback to allocate; otherwise one is dialled (or, for
        // HTTP/2, a stream opened) and the exchange goes on when it is there.
        if let pooled = client.pooledExchange() {
            self.upstreamOpened(.success(pooled), for: exchange, endpoint: index, of: balancer)
        } else {
            client.exchange { result in self.upstreamOpened(result, for: exchange, endpoint: index, of: balancer) }
        }
        // A pooled connection answers at once (above); a new one is dialled, and the client's further parts are held
        // unread until it is there.
        if self.current === exchange, exchange.upstream == nil, !exchange.answeredByProxy {
            self.setClientReading(context.channel, false)
        }
    }

    /// The upstream exchange for `exchange`'s request is open (or could not be): the request goes out on it, or to
    /// another endpoint, or the client gets a 502.
    private func upstreamOpened(
        _ result: Result<UpstreamExchange, any Error>,
        for exchange: Exchange,
        endpoint index: Int,
        of balancer: EndpointBalancer
    ) {
        guard self.current === exchange, let context = self.context else {
            balancer.end(index)
            if case .success(let upstream) = result { upstream.finish(reusable: false) }
            return
        }
        switch result {
        case .success(let upstream):
            self.route.proxy.logger.trace(
                "request forwarded",
                metadata: ["endpoint": "\(self.route.upstream.clients[index].endpoint)", "http.request.method": "\(exchange.head.method)"]
            )
            exchange.upstream = upstream
            upstream.relay.sink = self
            // A stream refused at its first write (an HTTP/2 connection that received GOAWAY) is closed, which
            // reaches upstreamClosed and a 502 rather than a request waiting forever. (A socket closes itself
            // when a write fails: HTTP/1 needs no promise.)
            var headWritten: EventLoopPromise<Void>?
            if self.route.upstream.clients[index].kind == .http2 {
                let promise = upstream.channel.eventLoop.makePromise(of: Void.self)
                let upstreamChannel = upstream.channel
                promise.futureResult.whenFailure { _ in upstreamChannel.close(promise: nil) }
                headWritten = promise
            }
            upstream.write(HTTPClientRequestPart.head(self.upstreamHead(exchange.head)), promise: headWritten)
            for part in exchange.buffered {
                exchange.sent(part)
                switch part {
                case .body(let buffer): upstream.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
                case .end(let trailers): upstream.write(HTTPClientRequestPart.end(trailers), promise: nil)
                case .head: break
                }
            }
            exchange.buffered = []
            // A pooled connection answers at once, inside the client's read burst: the request's remaining parts
            // (usually its end) follow in the same burst, so one flush at channelReadComplete sends them all.
            if self.inReadBurst {
                self.needsUpstreamFlush = true
            } else {
                upstream.channel.flush()
            }
            // Each side reads only while the other can take what it reads.
            upstream.setReading(context.channel.isWritable)
            self.setClientReading(context.channel, upstream.channel.isWritable)
        case .failure(let error):
            balancer.end(index)
            exchange.endpoint = index
            if exchange.attempts < 2 && balancer.count > 1 {
                self.route.proxy.logger.debug("upstream endpoint unreachable; trying another", metadata: ["error.type": "\(error)"])
                self.connect(exchange, context: context)
                return
            }
            self.route.proxy.logger.info("upstream unreachable", metadata: ["error.type": "\(error)"])
            self.answer(exchange, .unavailable(OutboundFailure.classify(error)), context: context)
        }
    }

    /// The request as the upstream gets it: HTTP/1.1, without hop-by-hop headers; inbound, with the client's verified
    /// identity in `l5d-client-id`.
    private func upstreamHead(_ head: HTTPRequestHead) -> HTTPRequestHead {
        var head = head
        // Changed only where needed: each change copies the head's storage. (The HTTP/1 encoder leaves the hop-by-hop
        // headers out.)
        if self.isHTTP1, head.version != .http1_1 { head.version = .http1_1 }
        if self.route.direction == .inbound {
            // Removed only when there: a removal copies the header storage the parsed request still shares.
            if head.headers.contains(name: "l5d-client-id") { head.headers.remove(name: "l5d-client-id") }
            if let identity = self.route.clientIdentity { head.headers.add(name: "l5d-client-id", value: identity) }
        }
        return head
    }

    /// Writes a response part to the client: on HTTP/1 encoded here (``HTTP1ResponseEncoder``, which leaves hop-by-hop
    /// headers out and, `closing`, adds `connection: close` to a head), so bytes go down the pipeline; on an HTTP/2
    /// stream as the part, for the stream's codec.
    private func send(
        _ part: HTTPServerResponsePart,
        closing: Bool = false,
        context: ChannelHandlerContext,
        promise: EventLoopPromise<Void>? = nil
    ) {
        if let encoder = self.responseEncoder {
            encoder.write(part, closingConnection: closing, context: context, promise: promise)
        } else {
            context.write(HTTPProxyHandler.wrapOutboundOut(part), promise: promise)
        }
    }

    // MARK: Proxy-made responses

    private func answer(_ exchange: Exchange, _ response: ProxyResponse, context: ChannelHandlerContext) {
        exchange.answeredByProxy = true
        exchange.buffered = []
        exchange.responseStarted = true
        exchange.responseEnded = true
        let keepAlive = exchange.keepAlive || !self.isHTTP1
        let parts = response.parts(grpc: exchange.isGRPC, keepAlive: keepAlive, allocator: context.channel.allocator)
        for part in parts.dropLast() { self.send(part, closing: !keepAlive, context: context) }
        if let last = parts.last {
            let written = context.eventLoop.makePromise(of: Void.self)
            self.send(last, closing: !keepAlive, context: context, promise: written)
            context.flush()
            exchange.responseWritten = written.futureResult
        }
        self.route.countError(response.reason)
        self.metrics(exchange).responded(
            .init(
                statusCode: exchange.isGRPC ? 200 : Int(response.httpStatus.code),
                grpcStatus: exchange.isGRPC ? response.grpcStatus : nil,
                error: response.reason
            ),
            micros: Self.elapsedMicros(since: exchange.started),
                request: exchange.head
        )
        // Read (and drop) the rest of the request.
        self.setClientReading(context.channel, true)
        self.completeIfDone(exchange, context: context)
    }

    private func completeIfDone(_ exchange: Exchange, context: ChannelHandlerContext) {
        guard exchange.requestEnded, exchange.responseEnded, self.current === exchange else { return }
        self.current = nil
        self.timeouts?.exchangeDone()
        if self.closesAfter(exchange) {
            // After what was written is flushed: close() would drop writes still queued.
            let channel = context.channel
            if let written = exchange.responseWritten {
                written.whenComplete { _ in channel.close(promise: nil) }
            } else {
                channel.close(promise: nil)
            }
            return
        }
        self.startNext(context: context)
    }

    /// HTTP/1: whether the connection closes once this exchange's response is out: the client asked for it, or it
    /// half-closed (or the proxy is shutting down) and nothing else is owed, not even a 400 for a refused request.
    private func closesAfter(_ exchange: Exchange) -> Bool {
        self.isHTTP1 && (self.closesAfterAnswer(exchange) || (self.closeAfterResponse && self.queued.isEmpty && !self.refusalOwed))
    }

    /// The exchange itself ends its client's connection: the client asked, or it was CONNECT or an upgrade request
    /// (the decoder reads nothing after one), or the upstream answered 101 (the client may take the protocol as
    /// switched).
    private func closesAfterAnswer(_ exchange: Exchange) -> Bool {
        !exchange.keepAlive || exchange.statusCode == 101
    }

    private func release(_ exchange: Exchange, reusable: Bool) {
        if let upstream = exchange.upstream, !upstream.isFinished {
            upstream.finish(reusable: reusable)
            if let index = exchange.endpoint { self.route.upstream.balancer.end(index) }
        }
    }

    /// The series of the endpoint the request went to (inbound: the only one).
    private func metrics(_ exchange: Exchange) -> HTTPRouteMetrics {
        let all = self.route.metrics
        return all[min(exchange.endpoint ?? 0, all.count - 1)]
    }

    static func elapsedMicros(since start: NIODeadline) -> Int64 {
        (NIODeadline.now() - start).nanoseconds / 1000
    }

    /// Turns reading on or off. Turning it on also asks for a read: an HTTP/2 stream channel does not start reading
    /// by itself when autoRead comes back on (a socket channel does; the extra request is harmless there).
    static func setAutoRead(_ channel: any Channel, _ value: Bool) {
        if let options = channel.syncOptions {
            try? options.setOption(.autoRead, value: value)
        } else {
            channel.setOption(.autoRead, value: value).whenFailure { _ in }
        }
        if value { channel.read() }
    }
}

extension HTTPProxyHandler: UpstreamResponseSink {
    func upstreamResponse(_ part: HTTPClientResponsePart) {
        guard let exchange = self.current, let context = self.context, !exchange.responseEnded else { return }
        switch part {
        case .head(var head):
            if head.status.code < 200 && head.status != .switchingProtocols {
                // Informational (100 Continue, 103 Early Hints): passed on, the real response follows. A 101 is the
                // last the decoder reads of that connection: it is final.
                self.send(.head(head), context: context)
                return
            }
            exchange.responseStarted = true
            exchange.statusCode = HTTPRouteMetrics.boundedStatus(Int(head.status.code))
            exchange.upstreamKeepAlive = head.isKeepAlive
            if exchange.isGRPC, !self.isHTTP1, let status = head.headers.first(name: "grpc-status").flatMap({ Int($0) }) {
                // Trailers-only: the status rides in the headers. Send it on as trailers, which every gRPC client
                // reads whatever the framing: the head and the end leave as one HEADERS frame only when no flush
                // comes between them (HTTP2ServerStreamCodec), and a status in a head the end did not ride on is read
                // by no gRPC client.
                exchange.grpcStatus = HTTPRouteMetrics.boundedGRPCStatus(status)
                var trailers = HTTPHeaders()
                for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
                    for value in head.headers[name] { trailers.add(name: name, value: value) }
                    head.headers.remove(name: name)
                }
                exchange.trailersOnly = trailers
            }
            // HTTP/1: the encoder leaves the upstream's hop-by-hop headers out and adds `connection: close` when the
            // client's connection ends after this response.
            if self.isHTTP1, head.version != .http1_1 { head.version = .http1_1 }
            self.send(.head(head), closing: self.closesAfterAnswer(exchange), context: context)
        case .body(let buffer):
            self.send(.body(.byteBuffer(buffer)), context: context)
        case .end(let trailers):
            if exchange.isGRPC, let status = trailers?.first(name: "grpc-status").flatMap({ Int($0) }) {
                exchange.grpcStatus = HTTPRouteMetrics.boundedGRPCStatus(status)
            }
            let end = trailers ?? exchange.trailersOnly
            exchange.responseEnded = true
            self.metrics(exchange).responded(
                .init(statusCode: exchange.statusCode, grpcStatus: exchange.isGRPC ? (exchange.grpcStatus ?? 2) : nil),
                micros: Self.elapsedMicros(since: exchange.started),
                request: exchange.head
            )
            // Release the upstream before writing the end: on HTTP/2 that write closes the client's stream at once
            // (channelInactive runs inside it), which must find the exchange settled. An HTTP/1 upstream connection
            // is reused only after a complete exchange both ways; an HTTP/2 stream that ended both ways is closed
            // already, and closing it again would send a needless RST_STREAM (which peers count against a flood
            // limit).
            // An HTTP/1 upstream connection that answered CONNECT, or said 101, may be a tunnel now (and its decoder
            // reads no more): pooled, the next request would go down it. (An upgrade request went upstream as a plain
            // one: its upgrade headers are hop-by-hop.)
            let complete = exchange.requestEnded
                && (!self.isHTTP1
                    || (exchange.upstreamKeepAlive && exchange.head.method != .CONNECT && exchange.statusCode != 101))
            self.release(exchange, reusable: complete)
            let requestDone = exchange.requestEnded
            if requestDone {
                self.current = nil
                self.timeouts?.exchangeDone()
            }
            let closing = self.closesAfter(exchange)
            if closing || !requestDone {
                // The write's completion is wanted only to close after it: close() would drop writes still queued.
                let written = context.eventLoop.makePromise(of: Void.self)
                self.send(.end(end), context: context, promise: written)
                context.flush()
                exchange.responseWritten = written.futureResult
                if requestDone {
                    let channel = context.channel
                    written.futureResult.whenComplete { _ in channel.close(promise: nil) }
                }
            } else {
                self.send(.end(end), context: context)
                context.flush()
            }
            // Reading back on: the rest of the request is dropped, or the next request is read (the upstream may have
            // been unwritable when it answered, leaving the client's reads off).
            self.setClientReading(context.channel, true)
            if requestDone && !closing { self.startNext(context: context) }
        }
    }

    func upstreamReadComplete() {
        self.context?.flush()
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        if let context = self.context, self.current?.upstream != nil {
            self.setClientReading(context.channel, isWritable)
        }
    }

    func upstreamClosed(error: (any Error)?) {
        guard let exchange = self.current, let context = self.context, !exchange.responseEnded else { return }
        let wasReused = exchange.upstream?.isReused == true
        let wasRefused = exchange.upstream?.wasRefused(error) == true
        self.release(exchange, reusable: false)
        self.route.proxy.logger.debug(
            "upstream closed before the response ended",
            metadata: ["error.type": "\(error.map { "\($0)" } ?? "eof")"]
        )
        if !exchange.responseStarted && (wasReused || wasRefused) && exchange.replayable && exchange.attempts < 3 {
            // A pooled connection the upstream closed as the request arrived (its keep-alive timeout), or an HTTP/2
            // stream the upstream refused unprocessed (a GOAWAY as it rotates its connection: nginx after
            // `keepalive_requests`, gRPC servers at their maximum connection age): nothing was answered, so the
            // request goes again on another connection.
            self.route.countError(wasRefused ? "refused_stream_retried" : "stale_connection_retried")
            exchange.upstream = nil
            exchange.buffered = exchange.takeReplay()
            self.connect(exchange, context: context)
            return
        }
        if !exchange.responseStarted {
            self.answer(exchange, .unavailable("upstream_reset"), context: context)
        } else {
            // Part of the response is out: all that is left is to cut the client's connection (HTTP/1) or reset its
            // stream (HTTP/2), so the client sees an incomplete response, never a wrong one.
            exchange.responseEnded = true
            self.route.countError("upstream_reset_mid_response")
            self.metrics(exchange).responded(
                .init(statusCode: exchange.statusCode, grpcStatus: exchange.isGRPC ? 14 : nil, error: "upstream_reset"),
                micros: Self.elapsedMicros(since: exchange.started),
                request: exchange.head
            )
            self.current = nil
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension HTTPProxyHandler: Sendable {}
