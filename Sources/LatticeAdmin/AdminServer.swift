import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A small HTTP/1.1 server for a process's admin endpoints (`/metrics`, `/ready`, `/live`, …).
///
/// Routes are plain closures run on the event loop: they must not block. It binds at `run()`, reports the bound
/// address through ``boundAddress``, and closes on graceful shutdown.
public final class AdminServer: Service, Sendable {
    /// What a route answers.
    public struct Response: Sendable {
        public var status: HTTPResponseStatus
        public var contentType: String
        public var body: [UInt8]

        public init(status: HTTPResponseStatus, contentType: String = "text/plain; charset=utf-8", body: [UInt8]) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }

        public static func text(_ status: HTTPResponseStatus, _ text: String) -> Response {
            Response(status: status, body: Array(text.utf8))
        }
    }

    /// A request as a route sees it.
    public struct Request: Sendable {
        public let method: HTTPMethod
        public let path: String
        public let remoteAddress: SocketAddress?
        /// The query string's parameters (`?since=12` → `["since": "12"]`), undecoded.
        public var query: [String: String] = [:]
    }

    public typealias Route = @Sendable (Request) -> Response

    private let host: String
    private let port: Int
    private let routes: [String: Route]
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let bound = Mutex<SocketAddress?>(nil)
    private let boundPromise: EventLoopPromise<SocketAddress>

    public init(
        host: String,
        port: Int,
        routes: [String: Route],
        logger: Logger,
        group: MultiThreadedEventLoopGroup = .singleton
    ) {
        self.host = host
        self.port = port
        self.routes = routes
        self.logger = logger
        self.group = group
        self.boundPromise = group.next().makePromise()
    }

    /// The address the server bound, once it has.
    public var boundAddress: SocketAddress? { self.bound.withLock { $0 } }

    /// Waits until the server is bound and returns the address.
    public func waitUntilBound() async throws -> SocketAddress {
        try await self.boundPromise.futureResult.get()
    }

    public func run() async throws {
        let routes = self.routes
        let channel: any Channel
        do {
            channel = try await ServerBootstrap(group: self.group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(routes: routes))
                    }
                }
                .bind(host: self.host, port: self.port)
                .get()
        } catch {
            self.boundPromise.fail(error)
            throw error
        }
        if let address = channel.localAddress {
            self.bound.withLock { $0 = address }
            self.boundPromise.succeed(address)
            self.logger.debug("admin server listening", metadata: ["net.local.addr": "\(address)"])
        }
        try await withGracefulShutdownHandler {
            try await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
    }
}

/// Answers each request from the route table. Runs on the connection's event loop.
final class AdminHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: [String: AdminServer.Route]
    private var head: HTTPRequestHead?

    init(routes: [String: AdminServer.Route]) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head = self.head else { return }
            self.head = nil
            let parts = head.uri.split(separator: "?", maxSplits: 1)
            let path = String(parts.first ?? "/")
            var request = AdminServer.Request(method: head.method, path: path, remoteAddress: context.remoteAddress)
            if parts.count == 2 {
                for pair in parts[1].split(separator: "&") {
                    let kv = pair.split(separator: "=", maxSplits: 1)
                    request.query[String(kv[0])] = kv.count == 2 ? String(kv[1]) : ""
                }
            }
            let response =
                self.routes[path].map { $0(request) }
                ?? .text(.notFound, "not found: \(path)\nendpoints: \(self.routes.keys.sorted().joined(separator: " "))\n")
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: response.contentType)
            headers.add(name: "content-length", value: String(response.body.count))
            let keepAlive = head.isKeepAlive
            if !keepAlive { headers.add(name: "connection", value: "close") }
            context.write(
                Self.wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))),
                promise: nil
            )
            context.write(
                Self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))),
                promise: nil
            )
            let done = context.writeAndFlush(Self.wrapOutboundOut(.end(nil)))
            if !keepAlive {
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                done.whenComplete { _ in loopBound.value.close(promise: nil) }
            }
        }
    }
}

@available(*, unavailable)
extension AdminHTTPHandler: Sendable {}
