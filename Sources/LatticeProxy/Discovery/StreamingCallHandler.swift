import NIOCore
import NIOHPACK
import NIOHTTP2

/// Runs one server-streaming gRPC call on an HTTP/2 stream: sends the request, then hands each response message to
/// `onMessage` as it arrives (messages may span DATA frames, and a frame may hold several). The stream's close
/// future tells the caller when the call ended, for whatever reason. Runs on the stream's event loop.
final class StreamingCallHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    /// The largest message accepted (a big service's endpoint set fits many times over).
    static let maxMessageBytes = 4 << 20

    private let path: String
    private let authority: String
    private let request: [UInt8]
    private let onMessage: (ArraySlice<UInt8>) -> Void
    private let onEnd: (String) -> Void
    private var pending: [UInt8] = []

    init(
        path: String,
        authority: String,
        request: [UInt8],
        onMessage: @escaping (ArraySlice<UInt8>) -> Void,
        onEnd: @escaping (String) -> Void
    ) {
        self.path = path
        self.authority = authority
        self.request = request
        self.onMessage = onMessage
        self.onEnd = onEnd
    }

    func channelActive(context: ChannelHandlerContext) {
        let headers: HPACKHeaders = [
            ":method": "POST", ":scheme": "https", ":path": self.path, ":authority": self.authority,
            "content-type": "application/grpc", "te": "trailers", "user-agent": "lattice-proxy",
        ]
        context.write(Self.wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
        var frame = context.channel.allocator.buffer(capacity: self.request.count + 5)
        frame.writeInteger(UInt8(0))
        frame.writeInteger(UInt32(self.request.count))
        frame.writeBytes(self.request)
        context.writeAndFlush(Self.wrapOutboundOut(.data(.init(data: .byteBuffer(frame), endStream: true))), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .headers(let headers):
            if let status = headers.headers.first(name: "grpc-status") {
                let message = headers.headers.first(name: "grpc-message") ?? ""
                self.onEnd("grpc-status \(status)\(message.isEmpty ? "" : ": \(message)")")
                context.close(promise: nil)
            } else if headers.endStream {
                self.onEnd("stream ended without grpc-status")
                context.close(promise: nil)
            }
        case .data(let data):
            guard case .byteBuffer(var buffer) = data.data else { return }
            self.pending += buffer.readBytes(length: buffer.readableBytes) ?? []
            self.deliver(context: context)
            if data.endStream {
                self.onEnd("stream ended without trailers")
                context.close(promise: nil)
            }
        default:
            break
        }
    }

    /// Hands over every complete message in `pending`.
    private func deliver(context: ChannelHandlerContext) {
        var start = 0
        while self.pending.count - start >= 5 {
            let length = Int(self.pending[start + 1]) << 24 | Int(self.pending[start + 2]) << 16
                | Int(self.pending[start + 3]) << 8 | Int(self.pending[start + 4])
            guard self.pending[start] == 0, length <= Self.maxMessageBytes else {
                self.onEnd(self.pending[start] != 0 ? "compressed message (not asked for)" : "message of \(length) bytes is too large")
                context.close(promise: nil)
                return
            }
            guard self.pending.count - start - 5 >= length else { break }
            self.onMessage(self.pending[(start + 5)..<(start + 5 + length)])
            start += 5 + length
        }
        if start > 0 { self.pending.removeFirst(start) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.onEnd("\(error)")
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.onEnd("stream closed")
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension StreamingCallHandler: Sendable {}
