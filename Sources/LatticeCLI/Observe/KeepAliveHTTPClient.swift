import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 client for the demo's traffic and for reading admin endpoints (`lattice stat`, `check`, …): one
/// keep-alive connection, requests one at a time, reconnecting when the server closed it. Not for concurrent use: each worker owns one.
final class KeepAliveHTTPClient {
    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: String
    }

    let host: String
    let port: Int
    private var channel: (any Channel)?

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    deinit {
        self.channel?.close(promise: nil)
    }

    /// One GET; throws when the connection fails or the response doesn't come within `timeout`.
    func get(_ path: String, timeout: Duration = .seconds(5)) async throws -> Response {
        let channel = try await self.connected()
        let promise = channel.eventLoop.makePromise(of: Response.self)
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: ["host": self.host, "user-agent": "lattice-demo"])
        let nanos = Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        channel.eventLoop.execute {
            guard let handler = try? channel.pipeline.syncOperations.handler(type: ResponseCollector.self) else {
                promise.fail(KeepAliveHTTPClientError.closed(path))
                return
            }
            handler.begin(promise)
            let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(nanos)) {
                promise.fail(KeepAliveHTTPClientError.timedOut(path))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        do {
            let response = try await promise.futureResult.get()
            if response.headers.first(name: "connection")?.lowercased() == "close" { self.close() }
            return response
        } catch {
            self.close()
            throw error
        }
    }

    func close() {
        self.channel?.close(promise: nil)
        self.channel = nil
    }

    private func connected() async throws -> any Channel {
        if let channel = self.channel, channel.isActive { return channel }
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(2))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector())
                }
            }
            .connect(host: self.host, port: self.port)
            .get()
        self.channel = channel
        return channel
    }
}

/// Collects one response at a time into the promise of the request in flight.
final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    private var promise: EventLoopPromise<KeepAliveHTTPClient.Response>?
    private var response = KeepAliveHTTPClient.Response(status: 0, headers: [:], body: "")
    private var body = ByteBuffer()

    func begin(_ promise: EventLoopPromise<KeepAliveHTTPClient.Response>) {
        self.promise = promise
        self.body.clear()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            self.response = .init(status: Int(head.status.code), headers: head.headers, body: "")
        case .body(var chunk):
            if self.body.readableBytes < 8 << 20 { self.body.writeBuffer(&chunk) }
        case .end:
            self.response.body = String(buffer: self.body)
            self.promise?.succeed(self.response)
            self.promise = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.promise?.fail(KeepAliveHTTPClientError.closed("request"))
        self.promise = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.promise?.fail(error)
        self.promise = nil
        context.close(promise: nil)
    }
}

enum KeepAliveHTTPClientError: Error, CustomStringConvertible {
    case timedOut(String)
    case closed(String)
    var description: String {
        switch self {
        case .timedOut(let path): "GET \(path): no response in time"
        case .closed(let path): "GET \(path): the connection closed before the response ended"
        }
    }
}
