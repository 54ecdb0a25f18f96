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
            let (body, ends) = data.messageParts
            if let body { context.fireChannelRead(HTTP2ServerStreamCodec.wrapInboundOut(.body(body))) }
            if ends { context.fireChannelRead(HTTP2ServerStreamCodec.wrapInboundOut(.end(nil))) }
        default:
            return  // no HTTP/1 equivalent
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if let refusal = self.held.refusal {
            promise?.fail(refusal)
            return
        }
        switch HTTP2ServerStreamCodec.unwrapOutboundIn(data) {
        case .head(let head):
            let block = HTTP2HeadConversion.responseBlock(for: head)
            self.held.hold(.headers(.init(headers: block)), promise: promise)?.write(on: context)
        case .body(let body):
            self.held.hold(.data(.init(data: body)), promise: promise)?.write(on: context)
        case .end(let trailers):
            let (first, second) = self.held.end(trailers.map(HTTP2HeadConversion.trailersBlock(for:)), promise: promise)
            first.write(on: context)
            second?.write(on: context)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        self.held.take()?.write(on: context)
        context.flush()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.held.take()?.promise?.fail(error)
        context.fireErrorCaught(error)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.held.close()?.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.held.close()?.fail(ChannelError.ioOnClosedChannel)
    }
}

@available(*, unavailable)
extension HTTP2ServerStreamCodec: Sendable {}

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
            let (body, ends) = data.messageParts
            if let body { context.fireChannelRead(HTTP2ClientStreamCodec.wrapInboundOut(.body(body))) }
            if ends { context.fireChannelRead(HTTP2ClientStreamCodec.wrapInboundOut(.end(nil))) }
        default:
            return  // no HTTP/1 equivalent
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if let refusal = self.held.refusal {
            promise?.fail(refusal)
            return
        }
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
            self.held.hold(.headers(.init(headers: block)), promise: promise)?.write(on: context)
        case .body(let body):
            self.held.hold(.data(.init(data: body)), promise: promise)?.write(on: context)
        case .end(let trailers):
            let (first, second) = self.held.end(trailers.map(HTTP2HeadConversion.trailersBlock(for:)), promise: promise)
            first.write(on: context)
            second?.write(on: context)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        self.held.take()?.write(on: context)
        context.flush()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.held.take()?.promise?.fail(error)
        context.fireErrorCaught(error)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.held.close()?.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.held.close()?.fail(ChannelError.ioOnClosedChannel)
    }
}

@available(*, unavailable)
extension HTTP2ClientStreamCodec: Sendable {}

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
    /// A part written after the message's end.
    case writeAfterEnd
}

/// One frame to write, with its write's promise.
private struct StreamFrameWrite {
    var frame: HTTP2Frame.FramePayload
    var promise: EventLoopPromise<Void>?

    func write(on context: ChannelHandlerContext) {
        context.write(NIOAny(self.frame), promise: self.promise)
    }
}

/// The frame a stream codec wrote last, held back so that the end of the message can ride on it as END_STREAM. Only
/// state: it hands back what is to be written, and the codec writes it once the state has changed (a write's
/// callbacks may come back into the codec). The two codecs' `write`/`flush`/close methods around it look alike on
/// purpose: folding them into one generic step that returned a "writes" value (frames or a refusal) cost 1.3 % more
/// instructions per HTTP/2 request (bench/instructions), for ~30 lines.
private struct HeldStreamFrame {
    private enum State {
        case open
        case ended
        case closed
    }

    private var held: StreamFrameWrite?
    private var state = State.open

    /// Why a part may not be written now (the message ended, the stream closed), or nil: it may.
    var refusal: (any Error)? {
        switch self.state {
        case .open: nil
        case .ended: HTTP2StreamCodecError.writeAfterEnd
        case .closed: ChannelError.ioOnClosedChannel
        }
    }

    /// Holds `frame`; returns the frame held before, to be written now.
    mutating func hold(_ frame: HTTP2Frame.FramePayload, promise: EventLoopPromise<Void>?) -> StreamFrameWrite? {
        let previous = self.held
        self.held = StreamFrameWrite(frame: frame, promise: promise)
        return previous
    }

    /// The end of the message; returns what to write, in order: the frame held with END_STREAM on it when there are
    /// no trailers, otherwise that frame (if any) and then the trailers' HEADERS (or an empty DATA) with END_STREAM.
    mutating func end(
        _ trailers: HPACKHeaders?,
        promise: EventLoopPromise<Void>?
    ) -> (StreamFrameWrite, StreamFrameWrite?) {
        self.state = .ended
        let previous = self.held
        self.held = nil
        if trailers == nil, var last = previous {
            switch last.frame {
            case .headers(var headers):
                headers.endStream = true
                last.frame = .headers(headers)
            case .data(var data):
                data.endStream = true
                last.frame = .data(data)
            default:
                break
            }
            if let promise {
                if let held = last.promise { held.futureResult.cascade(to: promise) } else { last.promise = promise }
            }
            return (last, nil)
        }
        let end: HTTP2Frame.FramePayload
        if let trailers {
            end = .headers(.init(headers: trailers, endStream: true))
        } else {
            end = .data(.init(data: .byteBuffer(ByteBuffer()), endStream: true))
        }
        let endWrite = StreamFrameWrite(frame: end, promise: promise)
        if let previous { return (previous, endWrite) }
        return (endWrite, nil)
    }

    /// The frame held, if any, to be written now (a flush) or dropped (an error).
    mutating func take() -> StreamFrameWrite? {
        let previous = self.held
        self.held = nil
        return previous
    }

    /// The stream closed: later writes fail; returns the held frame's promise, to be failed.
    mutating func close() -> EventLoopPromise<Void>? {
        self.state = .closed
        return self.take()?.promise
    }
}

extension HTTP2Frame.FramePayload.Data {
    /// A DATA frame read, as message parts: its body (none for an empty frame that ends the stream), and whether the
    /// message ends with it.
    fileprivate var messageParts: (body: ByteBuffer?, ends: Bool) {
        guard case .byteBuffer(let buffer) = self.data else { return (nil, self.endStream) }  // frames read are buffers
        return (buffer.readableBytes > 0 || !self.endStream ? buffer : nil, self.endStream)
    }
}
