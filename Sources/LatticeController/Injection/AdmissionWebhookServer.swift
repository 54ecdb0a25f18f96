import LatticeAdmin
import Logging
import NIOCertificateReloading
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The injector's mutating admission webhook: HTTPS (HTTP/1.1) on its own port, `POST /inject` with an
/// AdmissionReview v1, answered by an ``AdmissionResponder`` on the connection's event loop.
///
/// Its serving certificate (`tls.crt`/`tls.key` of the mounted webhook Secret) is read again every reload interval,
/// so a renewed certificate takes effect without a restart; a file that becomes unreadable keeps the last good pair.
public final class AdmissionWebhookServer: Service, Sendable {
    /// The largest review body accepted: an AdmissionReview carries one object, which etcd caps at 1.5 MiB.
    public static let maximumBodyBytes = 4 * 1024 * 1024
    public static let path = "/inject"

    private let host: String
    private let port: Int
    private let reloader: TimedCertificateReloader
    private let responder: AdmissionResponder
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let address: ListenerAddress

    /// Loads the serving certificate at once, so a missing or mismatched pair fails the controller's start with a
    /// reason rather than every handshake later.
    public init(
        host: String,
        port: Int,
        certificatePath: String,
        keyPath: String,
        reloadInterval: Duration,
        responder: AdmissionResponder,
        logger: Logger,
        group: MultiThreadedEventLoopGroup = .singleton
    ) throws {
        self.host = host
        self.port = port
        self.reloader = try TimedCertificateReloader.makeReloaderValidatingSources(
            refreshInterval: reloadInterval,
            certificateSource: .init(location: .file(path: certificatePath), format: .pem),
            privateKeySource: .init(location: .file(path: keyPath), format: .pem),
            logger: logger
        )
        self.responder = responder
        self.logger = logger
        self.group = group
        self.address = ListenerAddress(eventLoop: group.next())
    }

    public var boundAddress: SocketAddress? { self.address.current }

    public func waitUntilBound() async throws -> SocketAddress {
        try await self.address.wait()
    }

    public func run() async throws {
        var tls = try TLSConfiguration.makeServerConfiguration(certificateReloader: self.reloader)
        // The client is the API server (Go's TLS), not a proxy: 1.2 stays allowed.
        tls.minimumTLSVersion = .tlsv12
        let context = try NIOSSLContext(configuration: tls)
        let responder = self.responder
        let channel = try await self.address.bind(
            "the injector webhook", host: self.host, port: self.port, setting: "--webhook-addr"
        ) {
            try await ServerBootstrap(group: self.group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(NIOSSLServerHandler(context: context))
                        try sync.configureHTTPServerPipeline(withErrorHandling: true)
                        try sync.addHandler(NIOHTTPServerRequestAggregator(maxContentLength: Self.maximumBodyBytes))
                        try sync.addHandler(AdmissionHTTPHandler(responder: responder))
                    }
                }
                .bind(host: self.host, port: self.port)
                .get()
        }
        if let address = channel.localAddress {
            self.logger.info("injector webhook listening", metadata: ["net.local.addr": "\(address)"])
        }
        let reloader = self.reloader
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await reloader.run() }
            try await ListenerAddress.serveUntilShutdown(channel)
            group.cancelAll()
        }
    }
}

/// Answers `POST /inject`; every other request gets 404 (or 405), a body over the limit 413 (from the aggregator).
final class AdmissionHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOHTTPServerRequestFull
    typealias OutboundOut = HTTPServerResponsePart

    private let responder: AdmissionResponder

    init(responder: AdmissionResponder) {
        self.responder = responder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let request = Self.unwrapInboundIn(data)
        let path = request.head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        let status: HTTPResponseStatus
        let body: [UInt8]
        let contentType: String
        if path != AdmissionWebhookServer.path {
            (status, contentType) = (.notFound, "text/plain; charset=utf-8")
            body = Array("not found: \(path); the injector answers POST \(AdmissionWebhookServer.path)\n".utf8)
        } else if request.head.method != .POST {
            (status, contentType) = (.methodNotAllowed, "text/plain; charset=utf-8")
            body = Array("\(AdmissionWebhookServer.path) takes POST with an AdmissionReview\n".utf8)
        } else {
            let bytes = request.body.map { Array($0.readableBytesView) } ?? []
            let answer = self.responder.answer(bytes)
            (status, contentType) = (HTTPResponseStatus(statusCode: answer.httpStatus), "application/json")
            body = answer.body
        }
        HTTPResponseWriter.respond(
            context: context, version: request.head.version, status: status, contentType: contentType, body: body,
            keepAlive: request.head.isKeepAlive
        )
    }
}

@available(*, unavailable)
extension AdmissionHTTPHandler: Sendable {}
