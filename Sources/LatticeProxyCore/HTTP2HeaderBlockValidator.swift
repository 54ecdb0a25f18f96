import NIOCore
import NIOHPACK
import NIOHTTP2

/// The first handler of an HTTP/2 stream channel: checks each header block the stream receives
/// (``HTTP2HeaderBlockRules``) in place of the codec's validation, which the proxy turns off. A malformed block is not
/// passed on, and the connection and its other streams carry on.
/// - A stream the proxy serves (a client's request) is reset with PROTOCOL_ERROR, as the codec did, and
///   ``onViolation`` counts it (and may end the connection).
/// - A stream the proxy opened (an upstream's response) gets the violation fired down its pipeline: the exchange
///   waiting for the response answers its client (a 502) and closes the stream.
public final class HTTP2HeaderBlockValidator: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTP2Frame.FramePayload
    public typealias InboundOut = HTTP2Frame.FramePayload
    public typealias OutboundOut = HTTP2Frame.FramePayload

    public enum Role: Sendable {
        /// The stream carries a request to the proxy: its first block is a request, any later one trailers.
        case receivesRequests
        /// The stream carries a response to the proxy: blocks are responses until a final (non-1xx) one, then trailers.
        case receivesResponses
    }

    private let role: Role
    private let onViolation: (HTTP2HeaderBlockRules.Violation) -> ViolationOutcome
    /// The request, or the final response, has been received: the next block is trailers.
    private var headReceived = false
    /// A malformed block arrived: the stream is being reset and nothing more is passed on.
    private var refused = false

    /// The codec's settings for a connection whose streams each start with this validator: NIO's defaults, without its
    /// header-block validation (which would check every block twice more, including each one sent).
    public static var codecConfiguration: NIOHTTP2Handler.ConnectionConfiguration {
        var configuration = NIOHTTP2Handler.ConnectionConfiguration()
        configuration.headerBlockValidation = .disabled
        return configuration
    }

    /// What becomes of the connection after a stream's reset.
    public enum ViolationOutcome: Sendable {
        case connectionCarriesOn
        /// GOAWAY (ENHANCE_YOUR_CALM) and close, as NIO ends a connection past its flood limits.
        case connectionEnds
    }

    public init(
        role: Role,
        onViolation: @escaping (HTTP2HeaderBlockRules.Violation) -> ViolationOutcome = { _ in .connectionCarriesOn }
    ) {
        self.role = role
        self.onViolation = onViolation
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.refused else { return }
        let payload = HTTP2HeaderBlockValidator.unwrapInboundIn(data)
        guard case .headers(let headers) = payload else {
            context.fireChannelRead(data)
            return
        }
        let kind: HTTP2HeaderBlockRules.Kind
        if self.headReceived {
            kind = .trailers
        } else {
            switch self.role {
            case .receivesRequests:
                kind = .request
                self.headReceived = true
            case .receivesResponses:
                kind = .response
                self.headReceived = !HTTP2HeaderBlockRules.isInterimResponse(headers.headers)
            }
        }
        do {
            try HTTP2HeaderBlockRules.validate(headers.headers, as: kind)
        } catch {
            self.refuse(error, context: context)
            return
        }
        if kind == .response && !self.headReceived && headers.endStream {
            // An informational response is never the last (RFC 9113 §8.1): the final one it promises could not come,
            // and the exchange would wait for it.
            self.refuse(.init(problem: "an informational response that ends the stream", field: ":status"), context: context)
            return
        }
        context.fireChannelRead(data)
    }

    private func refuse(_ violation: HTTP2HeaderBlockRules.Violation, context: ChannelHandlerContext) {
        self.refused = true
        let outcome = self.onViolation(violation)
        if self.role == .receivesResponses {
            // The exchange answers its client (a 502, logged with the violation) and closes the stream, which resets
            // it (CANCEL) if it is still open: one reset, where one of ours first would have been followed by that
            // one, or have come after the upstream's own end of the stream.
            context.fireErrorCaught(violation)
            context.close(promise: nil)
            return
        }
        // The reset goes out on the connection, after this pass. The codec can deliver a new stream's first block
        // before it has activated the stream and told its stream delegates (NIO's connection manager among them) the
        // stream opened: a reset written on the stream channel waits for that activation and goes out inside it,
        // closing the stream before it was ever open (the manager asserts on that, and would count it open for
        // good). Written on the connection, the reset is one more event after the stream's opening.
        context.eventLoop.assumeIsolated().execute {
            let frame = HTTP2Frame.FramePayload.rstStream(.protocolError)
            if let connection = context.channel.parent,
                let streamID = try? context.channel.syncOptions?.getOption(HTTP2StreamChannelOptions.streamID)
            {
                // The codec closes the stream channel as it sends the reset, in order (closing it here first would
                // be that early close again). Ending the connection goes the same way: a GOAWAY first, so the codec
                // has told of every stream it opened before the close tells of their end.
                let sync = connection.pipeline.syncOperations
                sync.write(NIOAny(HTTP2Frame(streamID: streamID, payload: frame)), promise: nil)
                if case .connectionEnds = outcome {
                    // As NIO's own flood limits end a misbehaving peer's connection: last stream 0. (Never above a
                    // GOAWAY already sent, which NIO would refuse as a connection error.)
                    let goAway = HTTP2Frame.FramePayload.goAway(lastStreamID: .rootStream, errorCode: .enhanceYourCalm, opaqueData: nil)
                    let written = connection.eventLoop.makePromise(of: Void.self)
                    sync.write(NIOAny(HTTP2Frame(streamID: .rootStream, payload: goAway)), promise: written)
                    written.futureResult.assumeIsolated().whenComplete { _ in connection.close(promise: nil) }
                }
                sync.flush()
            } else {
                context.writeAndFlush(HTTP2HeaderBlockValidator.wrapOutboundOut(frame), promise: nil)
                context.close(promise: nil)
            }
        }
    }
}

@available(*, unavailable)
extension HTTP2HeaderBlockValidator: Sendable {}

/// How many streams one connection's client may have had reset for malformed header blocks: past `maximumCount`
/// within a window of `windowLength` (fixed windows, where NIO's own limit slides), the connection is closed. NIO counts the stream errors its own validation raises against
/// its flood limit (`streamErrorRateLimit`); a reset the validator sends is a frame NIO never counts, so without this
/// a client could open and have reset malformed streams without end, each costing a stream channel (and, with a valid
/// head and malformed trailers, an upstream stream). Used on the connection's event loop only.
public final class HTTP2MalformedStreamLimit {
    private let maximumCount: Int
    private let windowLength: TimeAmount
    private var windowStart: NIODeadline
    private var count = 0
    private var exceeded = false

    /// The limit NIO applies to its own stream errors on a connection configured with `configuration`.
    public convenience init(_ configuration: NIOHTTP2Handler.StreamConfiguration, now: NIODeadline = .now()) {
        self.init(
            maximumCount: configuration.streamErrorRateLimit.maximumCount,
            windowLength: configuration.streamErrorRateLimit.windowLength,
            now: now
        )
    }

    public init(maximumCount: Int, windowLength: TimeAmount, now: NIODeadline = .now()) {
        self.maximumCount = maximumCount
        self.windowLength = windowLength
        self.windowStart = now
    }

    /// Counts one reset; true when it takes the connection past the limit, so that it must be ended (once: false for
    /// any reset after that).
    public func record(now: NIODeadline = .now()) -> Bool {
        guard !self.exceeded else { return false }
        if now - self.windowStart >= self.windowLength {
            self.windowStart = now
            self.count = 0
        }
        self.count += 1
        self.exceeded = self.count > self.maximumCount
        return self.exceeded
    }
}

@available(*, unavailable)
extension HTTP2MalformedStreamLimit: Sendable {}
