import LatticeModel
import LatticeProxyCore
import NIOCore
import NIOHTTP1
import NIOHTTP2

/// The HTTP connections to one upstream endpoint for one HTTP version, confined to one event loop.
///
/// HTTP/1: a pool of keep-alive connections, at most ``maxIdle`` kept idle (each for at most the idle timeout); a
/// request leases one for its whole exchange. HTTP/2: one connection, a new stream per request (the peer's
/// concurrency limit queues streams beyond it); it is redialled when it closes.
final class EndpointHTTPClient {
    let endpoint: Endpoint
    let kind: HTTPKind
    let eventLoop: any EventLoop
    let proxy: ProxyContext

    private struct IdleConnection {
        let channel: any Channel
        let relay: ResponseRelay
        let since: NIODeadline
    }

    private enum HTTP2State {
        case idle
        case connecting([EventLoopPromise<HTTP2Connection>])
        case ready(NIOHTTP2Handler.StreamMultiplexer, any Channel, HTTP2ConnectionGoAway)
    }

    /// What an upstream HTTP/2 connection has said about its streams: the last stream ID a GOAWAY let through, once one
    /// has arrived, and the highest stream the proxy has actually opened (sent HEADERS for). Confined to the
    /// connection's event loop, like the client (it crosses futures only on that loop).
    final class HTTP2ConnectionGoAway: @unchecked Sendable {
        var lastStreamID: HTTP2StreamID?
        var highestOpenedStreamID = HTTP2StreamID.rootStream

        /// Whether the upstream cannot have processed the stream's request: reset with REFUSED_STREAM, or, after a
        /// GOAWAY, above the last stream it let through or never sent at all (held back by the upstream's stream
        /// limit, the codec fails it once the GOAWAY is in).
        func refused(_ stream: any Channel, error: (any Error)?) -> Bool {
            if let closed = error as? NIOHTTP2Errors.StreamClosed, closed.errorCode == .refusedStream { return true }
            if error is NIOHTTP2Errors.CreatedStreamAfterGoaway { return true }
            guard let lastStreamID = self.lastStreamID else { return false }
            guard let streamID = try? stream.syncOptions?.getOption(HTTP2StreamChannelOptions.streamID) else {
                return true  // no ID: never flushed, so never sent
            }
            return streamID > min(lastStreamID, self.highestOpenedStreamID)
        }
    }

    /// Oldest first; a request takes the newest (the one least likely to have been closed by the upstream).
    private var idle: [IdleConnection] = []
    /// One timer closes the connections idle past the timeout; it re-arms itself while any are idle, so a request
    /// costs a timestamp, not a timer.
    private var sweep: Scheduled<Void>?
    private var http2: HTTP2State = .idle

    init(endpoint: Endpoint, kind: HTTPKind, eventLoop: any EventLoop, proxy: ProxyContext) {
        self.endpoint = endpoint
        self.kind = kind
        self.eventLoop = eventLoop
        self.proxy = proxy
    }

    var maxIdle: Int { self.proxy.config.maxIdlePerEndpoint }

    typealias ExchangeCompletion = (Result<UpstreamExchange, any Error>) -> Void

    /// Opens an exchange for one request; `completion` runs on the event loop.
    func exchange(_ completion: @escaping ExchangeCompletion) {
        self.eventLoop.preconditionInEventLoop()
        switch self.kind {
        case .http1: self.http1Exchange(completion)
        case .http2: self.http2Exchange(completion)
        }
    }

    // MARK: HTTP/1

    /// An exchange on an idle pooled HTTP/1 connection, if one is open; nil for HTTP/2 or when a connection must be
    /// dialled (then ``exchange(_:)``). Synchronous, so the common case allocates no callback.
    func pooledExchange() -> UpstreamExchange? {
        self.eventLoop.preconditionInEventLoop()
        guard self.kind == .http1 else { return nil }
        while let connection = self.idle.popLast() {
            if connection.channel.isActive {
                return UpstreamExchange(channel: connection.channel, relay: connection.relay, isReused: true, pool: self)
            }
        }
        return nil
    }

    private func http1Exchange(_ completion: @escaping ExchangeCompletion) {
        if let pooled = self.pooledExchange() {
            completion(.success(pooled))
            return
        }
        UpstreamConnector.connect(self.endpoint, hint: .http1, on: self.eventLoop, proxy: self.proxy)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    let relay = ResponseRelay()
                    do {
                        // No outbound header validation: every request written here was parsed from an HTTP/1 client
                        // by llhttp in strict mode, which refuses names that are not tokens and values with CR, LF or
                        // NUL, and the proxy adds only `l5d-client-id` (a verified certificate's DNS name). Checking
                        // each header again cost a handler hop and ~3 % of the proxy's instructions per request.
                        // NIO's response decoder, with the proxy's request encoder (``HTTP1RequestEncoder``: the body
                        // framed as the client's decoder framed it, hop-by-hop headers left out, one pass and one
                        // allocation) in place of NIO's, in the same order: the decoder watches each request go by to
                        // know which responses answer a HEAD.
                        try channel.pipeline.syncOperations.addHandler(HTTP1RequestEncoder(dropsHopByHopHeaders: true))
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes))
                        )
                        try channel.pipeline.syncOperations.addHandler(relay)
                        try channel.syncOptions?.setOption(.allowRemoteHalfClosure, value: false)
                        try channel.syncOptions?.setOption(.autoRead, value: true)
                    } catch {
                        channel.close(promise: nil)
                        completion(.failure(error))
                        return
                    }
                    completion(.success(UpstreamExchange(channel: channel, relay: relay, pool: self)))
                case .failure(let error):
                    completion(.failure(error))
                }
            }
    }

    /// Takes back an HTTP/1 connection whose exchange ended with it reusable (``UpstreamExchange/finish(reusable:)``).
    func checkIn(_ channel: any Channel, relay: ResponseRelay) {
        guard channel.isActive, self.idle.count < self.maxIdle else {
            channel.close(promise: nil)
            return
        }
        if !relay.reading {
            // Idle, it must read: a close from the upstream is how it learns the connection is gone.
            relay.reading = true
            try? channel.syncOptions?.setOption(.autoRead, value: true)
        }
        self.idle.append(IdleConnection(channel: channel, relay: relay, since: .now()))
        if self.sweep == nil { self.scheduleSweep(at: .now() + self.idleTimeout) }
    }

    private var idleTimeout: TimeAmount { .nanoseconds(self.proxy.config.idleTimeout.totalNanoseconds) }

    private func scheduleSweep(at deadline: NIODeadline) {
        self.sweep = self.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.sweep = nil
            let cutoff = NIODeadline.now() - self.idleTimeout
            let expired = self.idle.prefix { $0.since <= cutoff }
            self.idle.removeFirst(expired.count)
            for connection in expired { connection.channel.close(promise: nil) }
            if let oldest = self.idle.first { self.scheduleSweep(at: oldest.since + self.idleTimeout) }
        }
    }

    /// Closes idle connections (on shutdown).
    func closeIdle() {
        self.sweep?.cancel()
        self.sweep = nil
        for connection in self.idle {
            connection.channel.close(promise: nil)
        }
        self.idle = []
        if case .ready(_, let channel, _) = self.http2 { channel.close(promise: nil) }
    }

    // MARK: HTTP/2

    private func http2Exchange(_ completion: @escaping ExchangeCompletion, retry: Bool = true) {
        // The common case, a connection ready: the stream is opened now, with no future to wait on first.
        if case .ready(let multiplexer, let channel, let goAway) = self.http2, channel.isActive {
            self.openStream(on: multiplexer, goAway: goAway, completion, retry: retry)
            return
        }
        self.dialledMultiplexer().assumeIsolated().whenComplete { result in
            switch result {
            case .success(let (multiplexer, goAway)):
                self.openStream(on: multiplexer, goAway: goAway, completion, retry: retry)
            case .failure(let error):
                completion(.failure(error))
            }
        }
    }

    private func openStream(
        on multiplexer: NIOHTTP2Handler.StreamMultiplexer,
        goAway: HTTP2ConnectionGoAway,
        _ completion: @escaping ExchangeCompletion,
        retry: Bool
    ) {
        let relay = ResponseRelay()
        let relayBox = NIOLoopBound(relay, eventLoop: self.eventLoop)
        multiplexer.createStreamChannel { stream in
            do {
                // The upstream's header blocks are checked here rather than by the codec (see
                // HTTP2HeaderBlockRules); a malformed response fails its request only (a 502).
                try stream.pipeline.syncOperations.addHandler(HTTP2HeaderBlockValidator(role: .receivesResponses))
                // The proxy's own codec: the request came in on HTTP/2 too (see HTTP2HeadConversion).
                try stream.pipeline.syncOperations.addHandler(HTTP2ClientStreamCodec())
                try stream.pipeline.syncOperations.addHandler(relayBox.value)
                // The event loop's cached succeeded future: no future made for every stream.
                return stream.eventLoop.makeSucceededVoidFuture()
            } catch {
                return stream.eventLoop.makeFailedFuture(error)
            }
        }.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let stream):
                let exchange = UpstreamExchange(channel: stream, relay: relay, goAway: goAway)
                completion(.success(exchange))
            case .failure(let error):
                // The connection can't open streams any more (the server sent GOAWAY while shutting down):
                // drop it and try once on a fresh one.
                if case .ready(_, let channel, _) = self.http2 {
                    self.http2 = .idle
                    channel.close(promise: nil)
                }
                if retry {
                    self.http2Exchange(completion, retry: false)
                } else {
                    completion(.failure(error))
                }
            }
        }
    }

    /// A ready HTTP/2 connection's multiplexer, and what its GOAWAY (if any) said.
    private typealias HTTP2Connection = (NIOHTTP2Handler.StreamMultiplexer, HTTP2ConnectionGoAway)

    /// The connection being dialled, or a new one (a `.ready` one here has closed): ``http2Exchange(_:retry:)`` takes
    /// an open ready connection itself, with no future.
    private func dialledMultiplexer() -> EventLoopFuture<HTTP2Connection> {
        switch self.http2 {
        case .connecting(var waiters):
            let promise = self.eventLoop.makePromise(of: HTTP2Connection.self)
            waiters.append(promise)
            self.http2 = .connecting(waiters)
            return promise.futureResult
        case .idle, .ready:
            let promise = self.eventLoop.makePromise(of: HTTP2Connection.self)
            self.http2 = .connecting([promise])
            self.connectHTTP2()
            return promise.futureResult
        }
    }

    private func connectHTTP2() {
        UpstreamConnector.connect(self.endpoint, hint: .http2, on: self.eventLoop, proxy: self.proxy)
            .assumeIsolated()
            .flatMapThrowing { channel -> (NIOHTTP2Handler.StreamMultiplexer, any Channel, HTTP2ConnectionGoAway) in
                do {
                    // Requests for many streams, read off other connections in one pass of the event loop, go out in
                    // one write.
                    try channel.pipeline.syncOperations.addHandler(FlushCoalescer())
                    // A GOAWAY (the server shutting down, or rotating its connections) means no new streams here:
                    // the next request dials anew. Its last stream ID tells which requests in flight were not
                    // processed (NIO closes their streams right after this handler sees the frame).
                    let goAway = HTTP2ConnectionGoAway()
                    let goAwayWatcher = GoAwayWatcher(eventLoop: channel.eventLoop, record: goAway) { [weak channel] in
                        guard let channel, case .ready(_, let current, _) = self.http2, current === channel else {
                            return
                        }
                        self.http2 = .idle
                    }
                    let multiplexer = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client,
                        connectionConfiguration: HTTP2HeaderBlockValidator.codecConfiguration,
                        streamConfiguration: HTTP2StreamSettings.trustedPeer,
                        streamDelegate: goAwayWatcher.streamDelegate
                    ) { stream in
                        // Servers don't open streams towards clients here (no push): refuse any.
                        stream.close()
                    }
                    try channel.pipeline.syncOperations.addHandler(goAwayWatcher)
                    // A connection error (the codec has sent GOAWAY itself and opens no more streams) closes it, and
                    // its close makes the next request dial anew. Left open, it looked usable and every new stream
                    // on it waited forever.
                    try channel.pipeline.syncOperations.addHandler(
                        HTTP2ConnectionErrorCloser(keepsOpenAfterGoAwayRefusal: true)
                    )
                    try channel.syncOptions?.setOption(.allowRemoteHalfClosure, value: false)
                    try channel.syncOptions?.setOption(.autoRead, value: true)
                    return (multiplexer, channel, goAway)
                } catch {
                    channel.close(promise: nil)
                    throw error
                }
            }
            .whenComplete { result in
                guard case .connecting(let waiters) = self.http2 else { return }
                switch result {
                case .success(let (multiplexer, channel, goAway)):
                    self.http2 = .ready(multiplexer, channel, goAway)
                    channel.closeFuture.assumeIsolated().whenComplete { _ in
                        if case .ready(_, let current, _) = self.http2, current === channel { self.http2 = .idle }
                    }
                    for waiter in waiters { waiter.succeed((multiplexer, goAway)) }
                case .failure(let error):
                    self.http2 = .idle
                    for waiter in waiters { waiter.fail(error) }
                }
            }
    }
}

/// Confined to its event loop (every method checks or runs there); shared by the connections on that loop.
extension EndpointHTTPClient: @unchecked Sendable {}

/// Sees the connection-level frames of an upstream HTTP/2 connection: reports a GOAWAY, and then closes the
/// connection once the streams it let through have ended (a server that sends GOAWAY and never closes would
/// otherwise leave it open for good, since no new stream will use it). It counts the open streams through the
/// codec's stream delegate (with NIO's inline multiplexer, stream events don't travel the connection's pipeline).
final class GoAwayWatcher: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame

    /// Tells the watcher, on the connection's event loop, when the codec opens and closes a stream.
    struct StreamDelegate: NIOHTTP2StreamDelegate {
        fileprivate let watcher: NIOLoopBound<GoAwayWatcher>

        func streamCreated(_ id: HTTP2StreamID, channel: any Channel) {
            let watcher = self.watcher.value
            watcher.openStreams += 1
            watcher.record.highestOpenedStreamID = max(watcher.record.highestOpenedStreamID, id)
        }

        func streamClosed(_ id: HTTP2StreamID, channel: any Channel) {
            self.watcher.value.streamClosed()
        }
    }

    private let onGoAway: () -> Void
    private let eventLoop: any EventLoop
    /// Where the GOAWAY's last stream ID and the highest stream opened are kept, for
    /// ``EndpointHTTPClient/HTTP2ConnectionGoAway/refused(_:error:)``.
    fileprivate let record: EndpointHTTPClient.HTTP2ConnectionGoAway
    private var context: ChannelHandlerContext?
    private var openStreams = 0
    private var goingAway = false

    init(
        eventLoop: any EventLoop,
        record: EndpointHTTPClient.HTTP2ConnectionGoAway,
        onGoAway: @escaping () -> Void
    ) {
        self.eventLoop = eventLoop
        self.record = record
        self.onGoAway = onGoAway
    }

    var streamDelegate: StreamDelegate {
        StreamDelegate(watcher: NIOLoopBound(self, eventLoop: self.eventLoop))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .goAway(let lastStreamID, _, _) = GoAwayWatcher.unwrapInboundIn(data).payload else { return }
        self.goingAway = true
        self.record.lastStreamID = min(lastStreamID, self.record.lastStreamID ?? lastStreamID)
        self.onGoAway()
        if self.openStreams == 0 { self.closeNextTick() }
    }

    private func streamClosed() {
        self.openStreams = max(0, self.openStreams - 1)
        if self.goingAway && self.openStreams == 0 { self.closeNextTick() }
    }

    /// A stream closes as its last frame is written, before that write is flushed: closing a tick later lets it out.
    private func closeNextTick() {
        self.eventLoop.assumeIsolated().execute {
            self.context?.close(promise: nil)
        }
    }
}

/// HTTP/2 stream settings for connections whose peer is the proxy's own app or another Lattice proxy (mutual TLS).
///
/// NIO's defaults end a connection after 200 RST_STREAM frames (or stream errors) in 30 s, a defence against rapid
/// reset floods. Between proxies that is ordinary traffic: every request a client cancels (a gRPC deadline, h2load
/// closing mid-run) is one RST_STREAM passed on, and killing the connection fails every other request on it. For
/// these peers the limits are 10 000 per 30 s; connections from unauthenticated peers keep NIO's.
enum HTTP2StreamSettings {
    static let trustedPeer: NIOHTTP2Handler.StreamConfiguration = {
        var configuration = NIOHTTP2Handler.StreamConfiguration()
        configuration.streamResetFrameRateLimit.maximumCount = 10_000
        configuration.streamErrorRateLimit.maximumCount = 10_000
        return configuration
    }()
}

@available(*, unavailable)
extension GoAwayWatcher: Sendable {}
