import NIOCore
import NIOHPACK
import NIOHTTP2

/// The first handler of an HTTP/2 stream channel: checks each header block the stream receives
/// (``HTTP2HeaderBlockRules``) in place of the codec's validation, which the proxy turns off. A malformed block is not
/// passed on; the stream is reset with PROTOCOL_ERROR, as the codec did, and the connection and its other streams
/// carry on.
/// - A stream the proxy serves (a client's request) just ends, and ``onViolation`` counts it.
/// - A stream the proxy opened (an upstream's response) also fires the violation down the stream's pipeline, so that
///   the exchange waiting for the response answers its client (a 502).
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
    private let onViolation: (HTTP2HeaderBlockRules.Violation) -> Void
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

    public init(role: Role, onViolation: @escaping (HTTP2HeaderBlockRules.Violation) -> Void = { _ in }) {
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
        context.fireChannelRead(data)
    }

    private func refuse(_ violation: HTTP2HeaderBlockRules.Violation, context: ChannelHandlerContext) {
        self.refused = true
        self.onViolation(violation)
        context.writeAndFlush(HTTP2HeaderBlockValidator.wrapOutboundOut(.rstStream(.protocolError)), promise: nil)
        if self.role == .receivesResponses {
            context.fireErrorCaught(violation)
        }
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension HTTP2HeaderBlockValidator: Sendable {}
