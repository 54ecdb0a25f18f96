import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL

/// A lean client for `lattice.identity.v1.Identity/Certify`: one unary gRPC call over HTTP/2 and TLS, verifying
/// that the controller presents its mesh identity (the SNI) with a certificate from the trust anchors.
///
/// It opens a connection per call: a proxy certifies once a day or so, and keeping grpc-swift, SwiftProtobuf and
/// Foundation out of the sidecar keeps its memory small.
struct IdentityClient: Sendable {
    let host: String
    let port: Int
    /// The identity the controller must present.
    let controllerIdentity: String
    let group: any EventLoopGroup
    let timeout: TimeAmount

    struct Certified: Sendable {
        let leafDER: [UInt8]
        let intermediatesDER: [[UInt8]]
        let validUntilSeconds: Int64
    }

    /// Sends one Certify request.
    func certify(identity: String, token: [UInt8], csr: [UInt8], anchors: [NIOSSLCertificate]) async throws -> Certified {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(anchors)
        tls.certificateVerification = .fullVerification
        tls.applicationProtocols = ["h2"]
        let context = try NIOSSLContext(configuration: tls)
        let request = CertifyRequestMessage(identity: identity, token: token, csr: csr).encoded()
        let serverName = self.controllerIdentity
        let authority = "\(self.controllerIdentity):\(self.port)"
        let channel = try await ClientBootstrap(group: self.group)
            .connectTimeout(self.timeout)
            .channelInitializer { channel in
                HTTP2ClientPipeline.configure(channel, context: context, serverName: serverName)
            }
            .connect(host: self.host, port: self.port)
            .get()
        defer { channel.close(promise: nil) }
        let responsePromise = channel.eventLoop.makePromise(of: UnaryResponse.self)
        let timeout = self.timeout
        let scheduled = channel.eventLoop.scheduleTask(in: timeout) {
            responsePromise.fail(IdentityClientError(status: 4, message: "no answer within \(timeout)", reason: nil))
        }
        defer {
            scheduled.cancel()
            // Every path completes the promise (a second completion is ignored), so none is leaked on a throw.
            responsePromise.fail(IdentityClientError(status: 1, message: "call abandoned", reason: nil))
        }
        _ = try await channel.pipeline.handler(type: HTTP2StreamMultiplexer.self).flatMap { multiplexer in
            multiplexer.createStreamChannel { stream in
                stream.eventLoop.makeCompletedFuture {
                    try stream.pipeline.syncOperations.addHandler(
                        UnaryCallHandler(
                            path: "/lattice.identity.v1.Identity/Certify",
                            authority: authority,
                            message: request,
                            promise: responsePromise
                        )
                    )
                }
            }
        }.get()
        let response = try await responsePromise.futureResult.get()
        guard response.status == 0 else {
            throw IdentityClientError(status: response.status, message: response.message, reason: response.reason)
        }
        let message = try CertifyResponseMessage(decoding: response.body[...])
        guard !message.leaf.isEmpty else {
            throw IdentityClientError(status: 13, message: "the response carries no certificate", reason: nil)
        }
        return Certified(
            leafDER: message.leaf,
            intermediatesDER: message.intermediates,
            validUntilSeconds: message.validUntilSeconds
        )
    }
}

/// A refused or failed Certify call: the gRPC status, its message and the `lattice-identity-error` reason.
struct IdentityClientError: Error, CustomStringConvertible {
    let status: Int
    let message: String
    let reason: String?

    var description: String {
        "identity service answered status \(status)\(self.reason.map { " (\($0))" } ?? ""): \(self.message)"
    }
}

struct UnaryResponse: Sendable {
    var status: Int
    var message: String
    var reason: String?
    var body: [UInt8]
}

/// Runs one unary gRPC call on an HTTP/2 stream. Runs on the stream's event loop.
final class UnaryCallHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let path: String
    private let authority: String
    private let message: [UInt8]
    private let promise: EventLoopPromise<UnaryResponse>
    private var received: [UInt8] = []
    private var httpStatus: String?

    init(path: String, authority: String, message: [UInt8], promise: EventLoopPromise<UnaryResponse>) {
        self.path = path
        self.authority = authority
        self.message = message
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        let headers: HPACKHeaders = [
            ":method": "POST", ":scheme": "https", ":path": self.path, ":authority": self.authority,
            "content-type": "application/grpc", "te": "trailers", "user-agent": "lattice-proxy",
        ]
        context.write(Self.wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
        var frame = context.channel.allocator.buffer(capacity: self.message.count + 5)
        frame.writeInteger(UInt8(0))
        frame.writeInteger(UInt32(self.message.count))
        frame.writeBytes(self.message)
        context.writeAndFlush(Self.wrapOutboundOut(.data(.init(data: .byteBuffer(frame), endStream: true))), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .headers(let headers):
            if self.httpStatus == nil, let status = headers.headers.first(name: ":status") {
                self.httpStatus = status
            }
            if let grpcStatus = headers.headers.first(name: "grpc-status") {
                self.finish(headers.headers, grpcStatus: grpcStatus)
            } else if headers.endStream {
                self.promise.fail(
                    IdentityClientError(status: 13, message: "HTTP \(self.httpStatus ?? "?") without grpc-status", reason: nil)
                )
            }
        case .data(let data):
            if case .byteBuffer(var buffer) = data.data {
                if self.received.count + buffer.readableBytes > 1 << 20 {
                    self.promise.fail(IdentityClientError(status: 8, message: "response too large", reason: nil))
                    context.close(promise: nil)
                    return
                }
                self.received += buffer.readBytes(length: buffer.readableBytes) ?? []
            }
        default:
            break
        }
    }

    private func finish(_ trailers: HPACKHeaders, grpcStatus: String) {
        let status = Int(grpcStatus) ?? 2
        var body: [UInt8] = []
        if status == 0 {
            guard self.received.count >= 5 else {
                self.promise.fail(IdentityClientError(status: 13, message: "empty response", reason: nil))
                return
            }
            let length = Int(self.received[1]) << 24 | Int(self.received[2]) << 16 | Int(self.received[3]) << 8
                | Int(self.received[4])
            guard self.received[0] == 0, self.received.count >= 5 + length else {
                self.promise.fail(IdentityClientError(status: 13, message: "malformed gRPC frame", reason: nil))
                return
            }
            body = Array(self.received[5..<(5 + length)])
        }
        let message = (trailers.first(name: "grpc-message") ?? "").removingPercentEncoding()
        self.promise.succeed(
            UnaryResponse(status: status, message: message, reason: trailers.first(name: "lattice-identity-error"), body: body)
        )
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.promise.fail(IdentityClientError(status: 14, message: "connection closed before an answer", reason: nil))
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension UnaryCallHandler: Sendable {}

extension String {
    /// Decodes gRPC's percent-encoded `grpc-message`.
    func removingPercentEncoding() -> String {
        var bytes: [UInt8] = []
        var iterator = Array(self.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let h = iterator.next(), let l = iterator.next(),
                let value = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
