import NIOCore
import NIOHTTP1

/// A response the proxy makes itself (a policy refusal, an unreachable upstream), with the reason in the
/// `lattice-proxy-error` header. gRPC callers get a trailers-only style answer with the matching `grpc-status`.
struct ProxyResponse {
    /// Why the proxy answered: the `lattice-proxy-error` header and the `error` label of `response_total`.
    var reason: String
    var httpStatus: HTTPResponseStatus
    var grpcStatus: Int
    var message: String

    static func forbidden(_ reason: String) -> ProxyResponse {
        ProxyResponse(
            reason: reason,
            httpStatus: .forbidden,
            grpcStatus: 7,  // PERMISSION_DENIED
            message: "request refused by the inbound policy (\(reason))"
        )
    }

    static func unavailable(_ reason: String) -> ProxyResponse {
        ProxyResponse(
            reason: reason,
            httpStatus: .badGateway,
            grpcStatus: 14,  // UNAVAILABLE
            message: "the proxy could not reach the upstream (\(reason))"
        )
    }

    /// A request the HTTP/1 decoder refused (a bad header line, oversized headers): answered, then the connection
    /// is closed, since nothing after it can be framed.
    static let malformed = ProxyResponse(
        reason: "malformed_request", httpStatus: .badRequest, grpcStatus: 13, message: "the request could not be parsed"
    )

    static let errorHeader = "lattice-proxy-error"

    /// The parts to write: head, optional body, end (with trailers for gRPC).
    func parts(grpc: Bool, keepAlive: Bool, allocator: ByteBufferAllocator) -> [HTTPServerResponsePart] {
        if grpc {
            var headers = HTTPHeaders([("content-type", "application/grpc"), (Self.errorHeader, self.reason)])
            if !keepAlive { headers.add(name: "connection", value: "close") }
            let trailers = HTTPHeaders([
                ("grpc-status", "\(self.grpcStatus)"), ("grpc-message", self.message), (Self.errorHeader, self.reason),
            ])
            return [.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)), .end(trailers)]
        }
        let body = allocator.buffer(string: self.message + "\n")
        var headers = HTTPHeaders([
            ("content-type", "text/plain; charset=utf-8"), ("content-length", "\(body.readableBytes)"),
            (Self.errorHeader, self.reason),
        ])
        if !keepAlive { headers.add(name: "connection", value: "close") }
        return [
            .head(HTTPResponseHead(version: .http1_1, status: self.httpStatus, headers: headers)),
            .body(.byteBuffer(body)), .end(nil),
        ]
    }
}
