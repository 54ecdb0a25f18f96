import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// The HTTP/2 stream a client opened to the proxy, as HTTP/1-style request parts in and response parts out; in
/// place of NIO's `HTTP2FramePayloadToHTTP1ServerCodec`, for a proxy whose upstream speaks HTTP/2 too (see
/// ``HTTP2HeadConversion`` for what that saves). It sits after an ``HTTP2HeaderBlockValidator`` in the stream.
///
/// A response's last frame carries END_STREAM itself: the frame written last is held until the next part, a flush or
/// the end, so a response read in one go is HEADERS, DATA(END_STREAM) rather than NIO's HEADERS, DATA,
/// DATA(empty, END_STREAM).
public final class HTTP2ServerStreamCodec: ChannelInboundHandler, ChannelOutboundHandler {
    public typealias InboundIn = HTTP2Frame.FramePayload
    public typealias InboundOut = HTTPServerRequestPart
    public typealias OutboundIn = HTTPServerResponsePart
    public typealias OutboundOut = HTTP2Frame.FramePayload

    private var blocksReceived = HeaderBlocksReceived.none
    private var held = HeldStreamFrame()

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch HTTP2ServerStreamCodec.unwrapInboundIn(data) {
        case .headers(let headers):
            switch self.blocksReceived {
            case .none:
                let head: HTTPRequestHead
                do {
                    head = try HTTP2HeadConversion.requestHead(from: headers.headers)
                } catch {
                    context.fireErrorCaught(error)
                    return
                }
                self.blocksReceived = .head
                context.fireChannelRead(HTTP2ServerStreamCodec.wrapInboundOut(.head(head)))
                if headers.endStream { context.fireChannelRead(HTTP2ServerStreamCodec.wrapInboundOut(.end(nil))) }
            case .head:
                self.blocksReceived = .trailers
                let trailers = HTTP2HeadConversion.trailers(from: headers.headers)
                context.fireChannelRead(HTTP2ServerStreamCodec.wrapInboundOut(.end(trailers)))
            case .trailers:
                context.fireErrorCaught(HTTP2StreamCodecError.headerBlockAfterTrailers)
            }
        case .data(let data):
            guard case .byteBuffer(let buffer) = data.data else { return }  // frames read are always buffers
            if buffer.readableBytes > 0 || !data.endStream {
                context.fireChannelRead(HTTP2ServerStreamCodec.wrapInboundOut(.body(buffer)))
            }
            if data.endStream { context.fireChannelRead(HTTP2ServerStreamCodec.wrapInboundOut(.end(nil))) }
        default:
            return  // no HTTP/1 equivalent
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch HTTP2ServerStreamCodec.unwrapOutboundIn(data) {
        case .head(let head):
            let block = HTTP2HeadConversion.responseBlock(for: head)
            self.held.hold(.headers(.init(headers: block)), promise: promise, context: context)
        case .body(let body):
            self.held.hold(.data(.init(data: body)), promise: promise, context: context)
        case .end(let trailers):
            self.held.end(trailers.map(HTTP2HeadConversion.trailersBlock(for:)), promise: promise, context: context)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        self.held.release(context: context)
        context.flush()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.held.fail(error)
        context.fireErrorCaught(error)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.held.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }
}

/// A stream the proxy opened to an HTTP/2 upstream, as HTTP/1-style request parts out and response parts in; in
/// place of NIO's `HTTP2FramePayloadToHTTP1ClientCodec` (see ``HTTP2ServerStreamCodec``). It sits after an
/// ``HTTP2HeaderBlockValidator`` in the stream. Like NIO's, it holds the frame written last, so that a request
/// without a body is one HEADERS frame with END_STREAM.
public final class HTTP2ClientStreamCodec: ChannelInboundHandler, ChannelOutboundHandler {
    public typealias InboundIn = HTTP2Frame.FramePayload
    public typealias InboundOut = HTTPClientResponsePart
    public typealias OutboundIn = HTTPClientRequestPart
    public typealias OutboundOut = HTTP2Frame.FramePayload

    private let scheme: String
    private var blocksReceived = HeaderBlocksReceived.none
    private var held = HeldStreamFrame()

    /// `scheme` is the request's `:scheme`.
    public init(scheme: String = "http") {
        self.scheme = scheme
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch HTTP2ClientStreamCodec.unwrapInboundIn(data) {
        case .headers(let headers):
            switch self.blocksReceived {
            case .none:
                let head: HTTPResponseHead
                do {
                    head = try HTTP2HeadConversion.responseHead(from: headers.headers)
                } catch {
                    context.fireErrorCaught(error)
                    return
                }
                // An informational response (1xx) is passed on and the final one follows.
                if head.status.code >= 200 { self.blocksReceived = .head }
                context.fireChannelRead(HTTP2ClientStreamCodec.wrapInboundOut(.head(head)))
                if headers.endStream && head.status.code >= 200 {
                    context.fireChannelRead(HTTP2ClientStreamCodec.wrapInboundOut(.end(nil)))
                }
            case .head:
                self.blocksReceived = .trailers
                let trailers = HTTP2HeadConversion.trailers(from: headers.headers)
                context.fireChannelRead(HTTP2ClientStreamCodec.wrapInboundOut(.end(trailers)))
            case .trailers:
                context.fireErrorCaught(HTTP2StreamCodecError.headerBlockAfterTrailers)
            }
        case .data(let data):
            guard case .byteBuffer(let buffer) = data.data else { return }  // frames read are always buffers
            if buffer.readableBytes > 0 || !data.endStream {
                context.fireChannelRead(HTTP2ClientStreamCodec.wrapInboundOut(.body(buffer)))
            }
            if data.endStream { context.fireChannelRead(HTTP2ClientStreamCodec.wrapInboundOut(.end(nil))) }
        default:
            return  // no HTTP/1 equivalent
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch HTTP2ClientStreamCodec.unwrapOutboundIn(data) {
        case .head(let head):
            let block: HPACKHeaders
            do {
                block = try HTTP2HeadConversion.requestBlock(for: head, scheme: self.scheme)
            } catch {
                promise?.fail(error)
                context.fireErrorCaught(error)
                return
            }
            self.held.hold(.headers(.init(headers: block)), promise: promise, context: context)
        case .body(let body):
            self.held.hold(.data(.init(data: body)), promise: promise, context: context)
        case .end(let trailers):
            self.held.end(trailers.map(HTTP2HeadConversion.trailersBlock(for:)), promise: promise, context: context)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        self.held.release(context: context)
        context.flush()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.held.fail(error)
        context.fireErrorCaught(error)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.held.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }
}

/// A stream's header blocks as received so far: none, the request or final response, then trailers (the last).
private enum HeaderBlocksReceived {
    case none
    case head
    case trailers
}

/// What an HTTP/2 stream codec refuses.
public enum HTTP2StreamCodecError: Error, Equatable {
    /// A header block after trailers: the stream's peer broke the protocol (its stream state should have prevented it).
    case headerBlockAfterTrailers
}

/// The frame a stream codec wrote last, held back so that the end of the message can ride on it as END_STREAM.
private struct HeldStreamFrame {
    private var frame: HTTP2Frame.FramePayload?
    private var promise: EventLoopPromise<Void>?

    /// Writes the frame held before (if any) and holds `frame`.
    mutating func hold(_ frame: HTTP2Frame.FramePayload, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        self.release(context: context)
        self.frame = frame
        self.promise = promise
    }

    /// The end of the message: on the frame held, as END_STREAM, when there are no trailers; otherwise that frame, then
    /// the trailers' HEADERS (or an empty DATA) with END_STREAM.
    mutating func end(_ trailers: HPACKHeaders?, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        if trailers == nil, var last = self.frame {
            switch last {
            case .headers(var headers):
                headers.endStream = true
                last = .headers(headers)
            case .data(var data):
                data.endStream = true
                last = .data(data)
            default:
                break
            }
            var combined = self.promise
            if let promise {
                if let held = combined { held.futureResult.cascade(to: promise) } else { combined = promise }
            }
            self.frame = nil
            self.promise = nil
            context.write(NIOAny(last), promise: combined)
            return
        }
        self.release(context: context)
        let end: HTTP2Frame.FramePayload
        if let trailers {
            end = .headers(.init(headers: trailers, endStream: true))
        } else {
            end = .data(.init(data: .byteBuffer(ByteBuffer()), endStream: true))
        }
        context.write(NIOAny(end), promise: promise)
    }

    /// Writes the frame held, if any.
    mutating func release(context: ChannelHandlerContext) {
        guard let frame = self.frame else { return }
        let promise = self.promise
        self.frame = nil
        self.promise = nil
        context.write(NIOAny(frame), promise: promise)
    }

    /// Drops the frame held (the stream failed or closed), failing its write.
    mutating func fail(_ error: any Error) {
        let promise = self.promise
        self.frame = nil
        self.promise = nil
        promise?.fail(error)
    }
}
