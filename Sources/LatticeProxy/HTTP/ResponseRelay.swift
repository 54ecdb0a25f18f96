import NIOCore
import NIOHTTP1

/// Where an upstream's response goes: the request handler of the exchange in progress. Called on the event loop.
protocol UpstreamResponseSink: AnyObject {
    func upstreamResponse(_ part: HTTPClientResponsePart)
    func upstreamReadComplete()
    func upstreamWritabilityChanged(isWritable: Bool)
    /// The upstream went away (or failed) before the exchange finished.
    func upstreamClosed(error: (any Error)?)
}

/// The last handler of an upstream HTTP connection (HTTP/1) or stream (HTTP/2): hands response parts to the sink
/// of the exchange in progress. A pooled HTTP/1 connection has no sink while idle; anything it says then is a
/// protocol error and closes it.
final class ResponseRelay: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    var sink: (any UpstreamResponseSink)?
    /// Whether the upstream channel reads (its autoRead), kept here so an unchanged setting costs nothing.
    var reading = true

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let sink = self.sink else {
            context.close(promise: nil)
            return
        }
        sink.upstreamResponse(ResponseRelay.unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.sink?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.sink?.upstreamWritabilityChanged(isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            // The upstream closed its side (an idle keep-alive connection timing out, or a close-delimited body that
            // the decoder has already ended): the connection is done either way.
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        let sink = self.sink
        self.sink = nil
        sink?.upstreamClosed(error: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let sink = self.sink
        self.sink = nil
        sink?.upstreamClosed(error: error)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ResponseRelay: Sendable {}

/// One request's use of an upstream: an HTTP/1 connection leased from the endpoint's pool, or a fresh HTTP/2 stream.
/// Request parts are written to ``channel`` as `HTTPClientRequestPart`; the response arrives through ``relay``.
final class UpstreamExchange {
    let channel: any Channel
    let relay: ResponseRelay
    /// An HTTP/1 connection taken from the pool: it may have been closed by the upstream just as it was reused.
    let isReused: Bool
    /// An HTTP/2 stream's connection, for what its GOAWAY (if any) said about the stream.
    private let goAway: EndpointHTTPClient.HTTP2ConnectionGoAway?
    /// The pool an HTTP/1 connection goes back to when its exchange ends reusable; nil for an HTTP/2 stream.
    private let pool: EndpointHTTPClient?
    private(set) var isFinished = false

    init(
        channel: any Channel,
        relay: ResponseRelay,
        isReused: Bool = false,
        goAway: EndpointHTTPClient.HTTP2ConnectionGoAway? = nil,
        pool: EndpointHTTPClient? = nil
    ) {
        self.channel = channel
        self.relay = relay
        self.isReused = isReused
        self.goAway = goAway
        self.pool = pool
    }

    /// Whether the upstream, as the exchange's channel closed with `error`, had said it did not process the request
    /// (an HTTP/2 stream above the last one a GOAWAY let through, or refused with REFUSED_STREAM), so that sending it
    /// again elsewhere is safe.
    func wasRefused(_ error: (any Error)?) -> Bool {
        self.goAway?.refused(self.channel, error: error) ?? false
    }

    /// Writes a part of the request to the upstream (on its event loop, which is the exchange's). `Channel.write` is
    /// generic and not inlinable, so through it every part was wrapped by NIO's unspecialized code: three failed
    /// dynamic casts and a metadata lookup each.
    func write(_ part: HTTPClientRequestPart, promise: EventLoopPromise<Void>?) {
        self.channel.pipeline.syncOperations.write(NIOAny(part), promise: promise)
    }

    /// Turns the upstream's reading on or off (back-pressure from the client side), when that is a change.
    func setReading(_ on: Bool) {
        guard on != self.relay.reading else { return }
        self.relay.reading = on
        HTTPProxyHandler.setAutoRead(self.channel, on)
    }

    /// Ends the exchange: a reusable HTTP/1 connection goes back to its pool; a finished HTTP/2 stream has closed
    /// itself; anything else is closed (an HTTP/2 stream that has not finished is reset).
    func finish(reusable: Bool) {
        guard !self.isFinished else { return }
        self.isFinished = true
        self.relay.sink = nil
        if !reusable {
            self.channel.close(promise: nil)
        } else if let pool = self.pool {
            pool.checkIn(self.channel, relay: self.relay)
        }
    }
}
