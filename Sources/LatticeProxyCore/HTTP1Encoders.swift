import NIOCore
import NIOHTTP1

/// Writes the requests the proxy sends an HTTP/1 upstream, in place of NIO's `HTTPRequestEncoder`, with the body framed
/// as the proxy's decoder framed it on the way in (``HTTP1HeadWriter``) and NIO's chunked-body encoding. A body part
/// for a request framed without a body is refused (its write fails and the connection closes): sent as it is, the
/// upstream would read it as another request. NIO's `HTTPResponseDecoder` after it still watches each request go by,
/// to know which responses answer a HEAD.
public final class HTTP1RequestEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = HTTPClientRequestPart
    public typealias OutboundOut = IOData

    private var framing = HTTP1BodyFraming.neither
    private let hopByHop: HTTP1HeadWriter.HopByHop

    /// - Parameter dropsHopByHopHeaders: whether the hop-by-hop headers of the requests written are left out, as a
    ///   proxy must (``HTTP1HeadWriter/HopByHop``).
    public init(dropsHopByHopHeaders: Bool = false) {
        self.hopByHop = dropsHopByHopHeaders ? .dropped(close: false) : .kept
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch HTTP1RequestEncoder.unwrapOutboundIn(data) {
        case .head(let head):
            let written = HTTP1HeadWriter.write(head, hopByHop: self.hopByHop, allocator: context.channel.allocator)
            self.framing = written.framing
            context.write(HTTP1RequestEncoder.wrapOutboundOut(.byteBuffer(written.head)), promise: promise)
        case .body(let body):
            guard self.framing != .neither || body.readableBytes == 0 else {
                promise?.fail(UnframedRequestBody())
                context.close(promise: nil)
                return
            }
            HTTP1BodyWriter.write(body, chunked: self.framing == .chunked, context: context, promise: promise)
        case .end(let trailers):
            HTTP1BodyWriter.end(trailers: trailers, chunked: self.framing == .chunked, context: context, promise: promise)
            self.framing = .neither
        }
    }

    /// A body written for a request whose head said it had none.
    public struct UnframedRequestBody: Error, CustomStringConvertible {
        public var description: String { "a request body with no content-length or transfer-encoding to frame it" }
    }
}

/// Writes the responses the proxy sends its HTTP/1 client, in place of NIO's `HTTPResponseEncoder`, with the same body
/// framing (``HTTP1HeadWriter``) and chunked-body encoding. A response to HEAD or CONNECT has no body, so the proxy
/// tells this encoder each request's method as it reads the request's head (``expectResponse(to:)``), as NIO's request
/// decoder tells its encoder.
///
/// The proxy's request handler calls ``write(_:context:promise:)`` itself and sends the bytes on from its own context:
/// a response part passed down the pipeline costs a heap box (``NIOAny`` holds it as `Any`), a dynamic cast to take it
/// out and a handler hop, three times a response. As a handler (``write(context:data:promise:)``) it does the same
/// job for any other writer.
public final class HTTP1ResponseEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    public typealias OutboundIn = HTTPServerResponsePart
    public typealias OutboundOut = IOData

    /// What the requests still waiting for a final response allow in it, oldest first.
    private var pending = CircularBuffer<ResponseBody>(initialCapacity: 4)
    private var framing = HTTP1BodyFraming.neither
    /// Answering HEAD or CONNECT: a body written now is refused, and nothing is chunked.
    private var suppressesBody = false
    private let dropsHopByHopHeaders: Bool

    /// - Parameter dropsHopByHopHeaders: whether the hop-by-hop headers of the responses written are left out, as a
    ///   proxy must (``HTTP1HeadWriter/HopByHop``); then ``write(_:closingConnection:context:promise:)`` says whether
    ///   the proxy's own `connection: close` goes in.
    public init(dropsHopByHopHeaders: Bool = false) {
        self.dropsHopByHopHeaders = dropsHopByHopHeaders
    }

    private enum ResponseBody {
        case allowed
        /// HEAD: the head may describe a body (its length, its transfer coding), but none follows.
        case headOnly
        /// CONNECT: no body and no framing headers, as NIO frames it (its response decoder drops an upstream's body
        /// to CONNECT, whatever the status); the proxy closes the connection after it.
        case connect
    }

    /// Records that a request with `method` was read; its final response is the next one not yet answered.
    public func expectResponse(to method: HTTPMethod) {
        switch method {
        case .HEAD: self.pending.append(.headOnly)
        case .CONNECT: self.pending.append(.connect)
        default: self.pending.append(.allowed)
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.write(HTTP1ResponseEncoder.unwrapOutboundIn(data), context: context, promise: promise)
    }

    /// Encodes `part` and writes its bytes from `context`; `closingConnection`: a head gets `connection: close` (when
    /// hop-by-hop headers are dropped; otherwise the head's own headers say it).
    public func write(
        _ part: HTTPServerResponsePart,
        closingConnection: Bool = false,
        context: ChannelHandlerContext,
        promise: EventLoopPromise<Void>?
    ) {
        switch part {
        case .head(let head):
            let code = head.status.code
            // An interim response (1xx but 101) is followed by the final one, which answers the same request.
            let isInterim = code >= 100 && code < 200 && code != 101
            var rule = ResponseBody.allowed
            if !isInterim, let next = self.pending.popFirst() {
                rule = next
                self.suppressesBody = next != .allowed
            }
            let mayHaveBody = rule != .connect && head.status.mayHaveResponseBody
            let hopByHop: HTTP1HeadWriter.HopByHop =
                self.dropsHopByHopHeaders ? .dropped(close: closingConnection) : .kept
            let written = HTTP1HeadWriter.write(
                head, mayHaveBody: mayHaveBody, hopByHop: hopByHop, allocator: context.channel.allocator
            )
            self.framing = self.suppressesBody ? .neither : written.framing
            context.write(HTTP1ResponseEncoder.wrapOutboundOut(.byteBuffer(written.head)), promise: promise)
        case .body(let body):
            if self.suppressesBody {
                // The head and end still make a well-formed response without it.
                promise?.fail(NIOHTTPResponseEncoderError.responseBodyNotAllowed)
            } else {
                HTTP1BodyWriter.write(body, chunked: self.framing == .chunked, context: context, promise: promise)
            }
        case .end(let trailers):
            HTTP1BodyWriter.end(trailers: trailers, chunked: self.framing == .chunked, context: context, promise: promise)
            self.suppressesBody = false
            self.framing = .neither
        }
    }
}

/// A body part and a message's end, as HTTP/1 carries them: as they are, or in chunks.
public enum HTTP1BodyWriter {
    /// Writes `body`; chunked, as a chunk header, the bytes uncopied and a CRLF. An empty part is written as it is
    /// (an empty chunk would end the body), so its promise still completes in order.
    public static func write(_ body: IOData, chunked: Bool, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        let length = body.readableBytes
        guard chunked, length > 0 else {
            context.write(NIOAny(body), promise: promise)
            return
        }
        var header = context.channel.allocator.buffer(capacity: 20)
        header.writeWithUnsafeMutableBytes(minimumWritableBytes: 18) { bytes in
            var digits = 0
            var rest = length
            repeat { digits += 1; rest >>= 4 } while rest > 0
            rest = length
            for index in stride(from: digits - 1, through: 0, by: -1) {
                bytes[index] = hexDigits[rest & 0xF]
                rest >>= 4
            }
            bytes[digits] = UInt8(ascii: "\r")
            bytes[digits + 1] = UInt8(ascii: "\n")
            return digits + 2
        }
        context.write(NIOAny(IOData.byteBuffer(header)), promise: nil)
        context.write(NIOAny(body), promise: nil)
        // The CRLF after the bytes: the header's last two, by moving its reader index on (no new storage).
        header.moveReaderIndex(forwardBy: header.readableBytes - 2)
        // The last of the three writes carries the promise: a failure fails everything pending after it too.
        context.write(NIOAny(IOData.byteBuffer(header)), promise: promise)
    }

    /// Ends a message: the last chunk and trailers when chunked; otherwise nothing, unless a promise waits (then an
    /// empty write, so it completes after the writes before it).
    public static func end(trailers: HTTPHeaders?, chunked: Bool, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        if chunked {
            var buffer = context.channel.allocator.buffer(capacity: trailers == nil ? 5 : 128)
            HTTP1HeadWriter.writeLastChunk(trailers: trailers, into: &buffer)
            context.write(NIOAny(IOData.byteBuffer(buffer)), promise: promise)
        } else if let promise {
            context.write(NIOAny(IOData.byteBuffer(context.channel.allocator.buffer(capacity: 0))), promise: promise)
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
