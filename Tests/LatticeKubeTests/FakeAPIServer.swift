import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A request the fake API server received.
struct RecordedRequest: Sendable {
    var method: String
    /// The path without the query.
    var path: String
    /// The decoded query parameters.
    var query: [String: String]
    /// The headers, with lower-cased names.
    var headers: [String: String]
    var body: [UInt8]

    /// The body parsed as a JSON object.
    func jsonBody() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(self.body))
        guard let dictionary = object as? [String: Any] else {
            throw FixtureError(message: "request body is not a JSON object")
        }
        return dictionary
    }
}

/// A canned response: a status, headers and a body written in one or more separately flushed chunks.
struct FakeResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var chunks: [[UInt8]]

    /// A JSON response with the given body.
    static func json(_ body: String, status: Int = 200, headers: [(String, String)] = []) -> FakeResponse {
        FakeResponse(
            status: status,
            headers: [("Content-Type", "application/json")] + headers,
            chunks: [Array(body.utf8)]
        )
    }

    /// A JSON response with a fixture as body.
    static func fixture(_ name: String, status: Int = 200, headers: [(String, String)] = []) -> FakeResponse {
        .json(Fixture.text(name), status: status, headers: headers)
    }

    /// A watch response streaming a fixture in chunks of `chunkSize` bytes, each flushed separately (no
    /// Content-Length, so the server uses chunked transfer encoding, as the API server does).
    static func watchStream(_ name: String, chunkSize: Int) -> FakeResponse {
        let bytes = Array(Fixture.text(name).utf8)
        let chunks = stride(from: 0, to: bytes.count, by: chunkSize).map {
            Array(bytes[$0..<min($0 + chunkSize, bytes.count)])
        }
        return FakeResponse(status: 200, headers: [("Content-Type", "application/json")], chunks: chunks)
    }
}

/// A fake Kubernetes API server on 127.0.0.1 (port chosen by the kernel), answering every request with the
/// handler's response and recording the requests for assertions.
///
/// Always use it through ``withFakeAPIServer(_:body:)``, which stops it even if the test fails.
final class FakeAPIServer: Sendable {
    typealias Handler = @Sendable (RecordedRequest) -> FakeResponse

    private let channel: any Channel
    private let state: ServerState

    /// The base URL to configure clients with.
    let url: String

    private init(channel: any Channel, state: ServerState, scheme: String) throws {
        self.channel = channel
        self.state = state
        guard let port = channel.localAddress?.port else {
            throw FixtureError(message: "the fake server has no port")
        }
        self.url = "\(scheme)://127.0.0.1:\(port)"
    }

    /// Binds a server that answers with `handler`, over TLS if `tls` is given.
    static func start(tls: TLSConfiguration? = nil, _ handler: @escaping Handler) async throws -> FakeAPIServer {
        let state = ServerState(handler: handler)
        let sslContext = try tls.map { try NIOSSLContext(configuration: $0) }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                state.track(channel)
                return channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(FakeAPIHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return try FakeAPIServer(channel: channel, state: state, scheme: tls == nil ? "http" : "https")
    }

    /// The requests received so far, in order.
    var requests: [RecordedRequest] {
        self.state.requests
    }

    /// Closes the listening socket and every accepted connection.
    func stop() async {
        try? await self.channel.close()
        for child in self.state.children {
            try? await child.close()
        }
    }
}

/// Runs `body` with a started fake server (over TLS if `tls` is given) and stops the server afterwards, whether
/// `body` succeeded or not.
@discardableResult
func withFakeAPIServer<Result>(
    tls: TLSConfiguration? = nil,
    _ handler: @escaping FakeAPIServer.Handler,
    body: (FakeAPIServer) async throws -> Result
) async throws -> Result {
    let server = try await FakeAPIServer.start(tls: tls, handler)
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// The server's shared state, guarded by a `Mutex`: read by tests, written by the event loop.
private final class ServerState: Sendable {
    private struct Contents {
        var requests: [RecordedRequest] = []
        var children: [any Channel] = []
    }

    let handler: FakeAPIServer.Handler
    private let contents = Mutex(Contents())

    init(handler: @escaping FakeAPIServer.Handler) {
        self.handler = handler
    }

    var requests: [RecordedRequest] {
        self.contents.withLock { $0.requests }
    }

    var children: [any Channel] {
        self.contents.withLock { $0.children }
    }

    func track(_ channel: any Channel) {
        self.contents.withLock { $0.children.append(channel) }
    }

    func record(_ request: RecordedRequest) {
        self.contents.withLock { $0.requests.append(request) }
    }
}

/// Collects one request and writes the handler's response. Bound to its channel's event loop.
private final class FakeAPIHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let state: ServerState
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(state: ServerState) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body = []
        case .body(let buffer):
            self.body += buffer.readableBytesView
        case .end:
            guard let head = self.head else {
                return
            }
            self.head = nil
            self.respond(context: context, to: Self.record(head, body: self.body))
        }
    }

    private func respond(context: ChannelHandlerContext, to request: RecordedRequest) {
        self.state.record(request)
        let response = self.state.handler(request)
        var headers = HTTPHeaders(response.headers)
        if response.chunks.count <= 1 {
            headers.replaceOrAdd(name: "Content-Length", value: String(response.chunks.first?.count ?? 0))
        }
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(
            self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
            promise: nil
        )
        for chunk in response.chunks {
            context.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: chunk)))), promise: nil)
        }
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
    }

    private static func record(_ head: HTTPRequestHead, body: [UInt8]) -> RecordedRequest {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = String(keyValue[0]).removingPercentEncoding ?? String(keyValue[0])
                let value = keyValue.count == 2 ? (String(keyValue[1]).removingPercentEncoding ?? "") : ""
                query[key] = value
            }
        }
        var headers: [String: String] = [:]
        for (name, value) in head.headers {
            headers[name.lowercased()] = value
        }
        return RecordedRequest(
            method: head.method.rawValue,
            path: String(parts[0]),
            query: query,
            headers: headers,
            body: body
        )
    }
}

@available(*, unavailable)
extension FakeAPIHandler: Sendable {}
