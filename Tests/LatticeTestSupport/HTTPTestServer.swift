import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// A small HTTP app for tests, speaking HTTP/1.1 or HTTP/2 with prior knowledge (h2c) on loopback.
///
/// Routes: `/name` (its name, also in `x-served-by` on every response), `/headers` (the request's headers, one
/// `name: value` per line), `/status/N` (an empty response with status N), `/big/N` (N bytes of `x`), `POST /echo`
/// (the body back), `/reset` (announces 1000 bytes, sends 10, then closes the connection or resets the stream),
/// `/once-per-connection` (answers the first request of a connection; closes without answering a later one),
/// `/slow/MS` (its name, after MS milliseconds).
public final class HTTPTestServer: Sendable {
    public enum Version: Sendable {
        case http1
        case http2
    }

    public let port: Int
    public let name: String
    private let channel: any Channel

    public init(name: String, version: Version, group: MultiThreadedEventLoopGroup = .singleton) async throws {
        self.name = name
        self.channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    switch version {
                    case .http1:
                        try sync.configureHTTPServerPipeline()
                        try sync.addHandler(TestAppHandler(name: name))
                    case .http2:
                        _ = try sync.configureHTTP2Pipeline(
                            mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                        ) { stream in
                            stream.eventLoop.makeCompletedFuture {
                                try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                                try stream.pipeline.syncOperations.addHandler(TestAppHandler(name: name))
                            }
                        }
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        self.port = self.channel.localAddress?.port ?? 0
    }

    public func stop() async {
        try? await self.channel.close()
    }
}

final class TestAppHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let name: String
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var requestsOnConnection = 0

    init(name: String) {
        self.name = name
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.requestsOnConnection += 1
            if head.uri.hasPrefix("/once-per-connection") && self.requestsOnConnection > 1 {
                // As a server whose keep-alive timeout fires just as the next request arrives: close, answer nothing.
                context.close(promise: nil)
                return
            }
            self.body = context.channel.allocator.buffer(capacity: 0)
        case .body(var buffer):
            self.body?.writeBuffer(&buffer)
        case .end:
            guard let head = self.head else { return }
            self.respond(to: head, body: self.body ?? ByteBuffer(), context: context)
            self.head = nil
        }
    }

    private func respond(to head: HTTPRequestHead, body: ByteBuffer, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        if path.hasPrefix("/slow/"), let milliseconds = Int64(path.dropFirst("/slow/".count)) {
            // The app's name after a delay: a request still in flight when the test stops something.
            let slow = HTTPRequestHead(version: head.version, method: head.method, uri: "/name", headers: head.headers)
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(milliseconds)) {
                handler.value.respond(to: slow, body: body, context: boundContext.value)
            }
            return
        }
        var status = HTTPResponseStatus.ok
        var payload = context.channel.allocator.buffer(capacity: 0)
        if path == "/name" || path == "/once-per-connection" {
            payload.writeString(self.name)
        } else if path == "/headers" {
            for (name, value) in head.headers { payload.writeString("\(name.lowercased()): \(value)\n") }
        } else if path.hasPrefix("/status/"), let code = Int(path.dropFirst("/status/".count)) {
            status = HTTPResponseStatus(statusCode: code)
        } else if path.hasPrefix("/big/"), let size = Int(path.dropFirst("/big/".count)) {
            payload.writeRepeatingByte(UInt8(ascii: "x"), count: size)
        } else if path == "/echo" {
            payload = body
        } else if path == "/reset" {
            var headers = HTTPHeaders([("content-length", "1000"), ("x-served-by", self.name)])
            headers.add(name: "content-type", value: "text/plain")
            context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
            var partial = context.channel.allocator.buffer(capacity: 10)
            partial.writeString("0123456789")
            let channel = context.channel
            context.writeAndFlush(Self.wrapOutboundOut(.body(.byteBuffer(partial)))).whenComplete { _ in
                channel.close(promise: nil)
            }
            return
        } else {
            status = .notFound
        }
        let headers = HTTPHeaders([
            ("content-length", "\(payload.readableBytes)"), ("x-served-by", self.name), ("content-type", "text/plain"),
        ])
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        if payload.readableBytes > 0 { context.write(Self.wrapOutboundOut(.body(.byteBuffer(payload))), promise: nil) }
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension TestAppHandler: Sendable {}
