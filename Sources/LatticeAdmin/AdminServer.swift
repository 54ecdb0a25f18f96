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
    private let address: ListenerAddress
    private let addressSetting: String

    /// `addressSetting` names the flag or variable that chooses the address, for the error when it can't be bound.
    public init(
        host: String,
        port: Int,
        addressSetting: String,
        routes: [String: Route],
        logger: Logger,
        group: MultiThreadedEventLoopGroup = .singleton
    ) {
        self.host = host
        self.port = port
        self.addressSetting = addressSetting
        self.routes = routes
        self.logger = logger
        self.group = group
        self.address = ListenerAddress(eventLoop: group.next())
    }

    /// The address the server bound, once it has.
    public var boundAddress: SocketAddress? { self.address.current }

    /// Waits until the server is bound and returns the address.
    public func waitUntilBound() async throws -> SocketAddress {
        try await self.address.wait()
    }

    public func run() async throws {
        let routes = self.routes
        let channel = try await self.address.bind(
            "the admin server (/metrics, /ready, /live)", host: self.host, port: self.port, setting: self.addressSetting
        ) {
            try await ServerBootstrap(group: self.group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(routes: routes))
                    }
                }
                .bind(host: self.host, port: self.port)
                .get()
        }
        if let address = channel.localAddress {
            self.logger.debug("admin server listening", metadata: ["net.local.addr": "\(address)"])
        }
        try await ListenerAddress.serveUntilShutdown(channel)
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
            HTTPResponseWriter.respond(
                context: context, version: head.version, status: response.status, contentType: response.contentType,
                body: response.body, keepAlive: head.isKeepAlive
            )
        }
    }
}

@available(*, unavailable)
extension AdminHTTPHandler: Sendable {}

/// Writes one whole HTTP/1.1 response (head with content-type and content-length, body, end) on a server pipeline's
/// context, closing the connection once it is on the wire when the request asked not to keep it alive.
public enum HTTPResponseWriter {
    public static func respond(
        context: ChannelHandlerContext,
        version: HTTPVersion,
        status: HTTPResponseStatus,
        contentType: String,
        body: [UInt8],
        keepAlive: Bool
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: String(body.count))
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        let done = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
        if !keepAlive {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }
}

/// A listener's bound address, published once it has bound (or its failure), for `waitUntilBound()` callers.
public final class ListenerAddress: Sendable {
    private let bound = Mutex<SocketAddress?>(nil)
    private let promise: EventLoopPromise<SocketAddress>

    public init(eventLoop: any EventLoop) {
        self.promise = eventLoop.makePromise()
    }

    public var current: SocketAddress? { self.bound.withLock { $0 } }

    public func wait() async throws -> SocketAddress {
        try await self.promise.futureResult.get()
    }

    /// Binds with `bind`, publishes the address (or the failure), and returns the channel. A failure is a
    /// ``ListenError`` naming `listener`, the address and the `setting` that chooses it.
    public func bind(
        _ listener: String,
        host: String,
        port: Int,
        setting: String,
        _ bind: () async throws -> any Channel
    ) async throws -> any Channel {
        let channel: any Channel
        do {
            channel = try await bind()
        } catch {
            let failure = ListenError(listener: listener, address: "\(host):\(port)", setting: setting, cause: error)
            self.promise.fail(failure)
            throw failure
        }
        if let address = channel.localAddress {
            self.bound.withLock { $0 = address }
            self.promise.succeed(address)
        }
        return channel
    }

    /// Serves until the channel closes, closing it on graceful shutdown or when the task is cancelled (a
    /// `ServiceGroup` cancels every service when one of them fails: a listener that waited only for graceful
    /// shutdown kept the process alive after, say, another port could not be bound).
    public static func serveUntilShutdown(_ channel: any Channel) async throws {
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await channel.closeFuture.get()
            } onGracefulShutdown: {
                channel.close(promise: nil)
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}

/// A listener could not bind: which one, where, why, and which setting moves it.
public struct ListenError: Error, CustomStringConvertible {
    public let listener: String
    public let address: String
    public let setting: String
    public let cause: any Error

    public init(listener: String, address: String, setting: String, cause: any Error) {
        self.listener = listener
        self.address = address
        self.setting = setting
        self.cause = cause
    }

    public var description: String {
        "cannot listen on \(self.address) for \(self.listener): \(self.cause); "
            + "stop whatever holds that address or choose another with \(self.setting)"
    }
}
