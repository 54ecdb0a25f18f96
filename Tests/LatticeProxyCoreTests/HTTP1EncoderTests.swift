import LatticeProxyCore
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The proxy's HTTP/1 encoders must put on the wire what NIO's would: each case is written through both, and the
/// bytes compared.
@Suite struct HTTP1EncoderTests {
    private static func bytes(_ channel: EmbeddedChannel) throws -> String {
        var all = ByteBuffer()
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(var buffer) = part else { Issue.record("a file region"); continue }
            all.writeBuffer(&buffer)
        }
        return String(buffer: all)
    }

    private static let requestHeaders: [(String, [(String, String)])] = [
        ("none", []),
        ("plain", [("Host", "db:8080"), ("User-Agent", "curl/7.88.1"), ("Accept", "*/*")]),
        ("content-length", [("Host", "a"), ("Content-Length", "5")]),
        ("both", [("host", "a"), ("TRANSFER-ENCODING", "chunked"), ("content-length", "5")]),
        ("chunked", [("host", "a"), ("Transfer-Encoding", "chunked")]),
        ("gzip-chunked", [("host", "a"), ("transfer-encoding", "gzip"), ("transfer-encoding", "chunked")]),
        ("unicode", [("x-name", "caf\u{e9} \u{1F600}"), ("x-empty", "")]),
    ]

    private static let methods: [HTTPMethod] = [.GET, .HEAD, .POST, .PUT, .PATCH, .DELETE, .TRACE, .OPTIONS, .CONNECT, .RAW(value: "PURGE")]

    /// Requests whose framing NIO's encoder decides as the proxy's decoder framed them on the way in (no
    /// `transfer-encoding`): the same bytes as NIO's. A body is written only where the head frames one.
    @Test(arguments: [HTTPVersion.http1_1, .http1_0, HTTPVersion(major: 2, minor: 0)])
    func requestsAreWrittenAsNIOWritesThem(version: HTTPVersion) throws {
        for method in Self.methods where method != .TRACE {
            for (label, fields) in Self.requestHeaders where !fields.contains(where: { $0.0.lowercased() == "transfer-encoding" }) {
                let head = HTTPRequestHead(version: version, method: method, uri: "/p?q=1", headers: HTTPHeaders(fields))
                let hasLength = fields.contains { $0.0.lowercased() == "content-length" }
                let expectsBody = [HTTPMethod.POST, .PUT, .PATCH].contains(method) && version == .http1_1
                var parts: [HTTPClientRequestPart] = [.head(head)]
                if hasLength || expectsBody {
                    parts += [
                        .body(.byteBuffer(ByteBuffer(string: "hello"))), .body(.byteBuffer(ByteBuffer())),
                        .body(.byteBuffer(ByteBuffer(string: String(repeating: "x", count: 300)))),
                    ]
                }
                parts.append(.end(HTTPHeaders([("grpc-status", "0")])))
                let ours = EmbeddedChannel(handler: HTTP1RequestEncoder())
                let nio = EmbeddedChannel(handler: HTTPRequestEncoder())
                for part in parts {
                    try ours.writeOutbound(part)
                    try nio.writeOutbound(part)
                }
                #expect(try Self.bytes(ours) == Self.bytes(nio), "\(method) \(label) \(version)")
                _ = try ours.finish()
                _ = try nio.finish()
            }
        }
    }

    /// Any `transfer-encoding` means the decoder de-chunked the body: it goes on re-chunked under one
    /// `transfer-encoding: chunked`, whatever the method, the coding's spelling or a `content-length` beside it.
    /// (NIO's encoder sent a GET's de-chunked body as it was unless the first coding was exactly `chunked`.)
    @Test(arguments: [
        ("GET", [("Transfer-Encoding", "Chunked")]),
        ("DELETE", [("transfer-encoding", "gzip, chunked")]),
        ("OPTIONS", [("transfer-encoding", "gzip"), ("Transfer-Encoding", "chunked")]),
        ("POST", [("Content-Length", "3"), ("Transfer-Encoding", "chunked")]),
        ("TRACE", [("transfer-encoding", "chunked")]),
    ])
    func aRequestThatArrivedChunkedIsSentChunked(method: String, framing: [(String, String)]) throws {
        let channel = EmbeddedChannel(handler: HTTP1RequestEncoder())
        let headers = HTTPHeaders([("host", "a")] + framing + [("x-after", "1")])
        try channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: "/", headers: headers)))
        try channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: "GET /admin HTTP/1.1\r\n\r\n"))))
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        #expect(
            try Self.bytes(channel)
                == "\(method) / HTTP/1.1\r\nhost: a\r\nx-after: 1\r\ntransfer-encoding: chunked\r\n\r\n"
                + "17\r\nGET /admin HTTP/1.1\r\n\r\n\r\n0\r\n\r\n"
        )
        _ = try channel.finish()
    }

    @Test func aBodyForARequestFramedWithoutOneIsRefusedAndTheConnectionClosed() throws {
        let channel = EmbeddedChannel(handler: HTTP1RequestEncoder())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/", headers: ["host": "a"])))
        let refused = channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: "GET /admin HTTP/1.1\r\n\r\n"))))
        #expect(throws: HTTP1RequestEncoder.UnframedRequestBody.self) { try refused.wait() }
        #expect(!channel.isActive)
        #expect(try Self.bytes(channel) == "GET / HTTP/1.1\r\nhost: a\r\n\r\n")
    }

    private static let statuses: [HTTPResponseStatus] = [
        .ok, .noContent, .notModified, .continue, .switchingProtocols, .notFound, .custom(code: 299, reasonPhrase: "Odd"),
        .custom(code: 150, reasonPhrase: "Interim"), .badGateway,
    ]

    @Test(arguments: [HTTPMethod.GET, .HEAD, .CONNECT, .POST])
    func responsesAreWrittenAsNIOWritesThemForEachRequestMethod(method: HTTPMethod) throws {
        for version in [HTTPVersion.http1_1, .http1_0] {
            for status in Self.statuses {
                for (label, fields) in Self.requestHeaders {
                    // NIO's encoder learns each request's method from its request decoder; ours from the proxy.
                    let nio = EmbeddedChannel()
                    try nio.pipeline.syncOperations.configureHTTPServerPipeline(
                        withPipeliningAssistance: false, withErrorHandling: false, withOutboundHeaderValidation: false
                    )
                    let ours = HTTP1ResponseEncoder()
                    let oursChannel = EmbeddedChannel(handler: ours)
                    let request = "\(method.rawValue) / HTTP/1.1\r\nhost: a\r\ncontent-length: 0\r\n\r\n"
                    try nio.writeInbound(ByteBuffer(string: request))
                    while try nio.readInbound(as: HTTPServerRequestPart.self) != nil {}
                    ours.expectResponse(to: method)

                    let head = HTTPResponseHead(version: version, status: status, headers: HTTPHeaders(fields))
                    var parts: [HTTPServerResponsePart] = [.head(head)]
                    let interim = status.code >= 100 && status.code < 200 && status.code != 101
                    if interim {
                        parts.append(.head(HTTPResponseHead(version: version, status: .ok, headers: HTTPHeaders(fields))))
                    }
                    let bodyAllowed = method != .HEAD && method != .CONNECT
                    if bodyAllowed { parts.append(.body(.byteBuffer(ByteBuffer(string: "hello")))) }
                    parts.append(.end(nil))
                    for part in parts {
                        try nio.writeOutbound(part)
                        try oursChannel.writeOutbound(part)
                    }
                    #expect(try Self.bytes(oursChannel) == Self.bytes(nio), "\(method) \(status) \(label) \(version)")
                    _ = try nio.finish()
                    _ = try oursChannel.finish()
                }
            }
        }
    }

    @Test func aBodyAnsweringHEADIsRefusedAndTheResponseStaysWellFormed() throws {
        let encoder = HTTP1ResponseEncoder()
        let channel = EmbeddedChannel(handler: encoder)
        encoder.expectResponse(to: .HEAD)
        encoder.expectResponse(to: .GET)
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        let refused = channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "no"))))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        #expect(throws: NIOHTTPResponseEncoderError.responseBodyNotAllowed) { try refused.wait() }
        // The next response (to the GET) carries its body again, chunked.
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        try channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "yes"))))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        #expect(
            try Self.bytes(channel)
                == "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                + "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nyes\r\n0\r\n\r\n"
        )
        _ = try channel.finish()
    }

    /// A proxy leaves hop-by-hop headers out (RFC 9110 §7.6.1): the fixed ones, in any case, and the names
    /// `connection` lists, but never the framing headers it names.
    @Test func hopByHopHeadersAreLeftOutAndConnectionCannotNameTheFramingAway() throws {
        let channel = EmbeddedChannel(handler: HTTP1RequestEncoder(dropsHopByHopHeaders: true))
        let headers = HTTPHeaders([
            ("Host", "a"), ("Connection", "keep-alive, X-Hop ,, Upgrade"), ("connection", "content-length, Transfer-Encoding"),
            ("X-Hop", "1"), ("Keep-Alive", "timeout=5"), ("Proxy-Connection", "keep-alive"), ("UPGRADE", "h2c"),
            ("x-hoppity", "2"), ("Content-Length", "2"),
        ])
        try channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .PUT, uri: "/", headers: headers)))
        try channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: "ok"))))
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        #expect(try Self.bytes(channel) == "PUT / HTTP/1.1\r\nHost: a\r\nx-hoppity: 2\r\nContent-Length: 2\r\n\r\nok")
        _ = try channel.finish()
    }

    @Test func aResponseLosesTheUpstreamsConnectionHeadersAndGetsTheProxysClose() throws {
        let encoder = HTTP1ResponseEncoder(dropsHopByHopHeaders: true)
        let channel = EmbeddedChannel(handler: encoder)
        let context = try channel.pipeline.syncOperations.context(handler: encoder)
        let head = HTTPResponseHead(
            version: .http1_1, status: .ok,
            headers: HTTPHeaders([
                ("Server", "nginx"), ("Connection", "keep-alive"), ("Keep-Alive", "timeout=75"), ("content-length", "0"),
            ])
        )
        encoder.expectResponse(to: .GET)
        encoder.write(.head(head), context: context, promise: nil)
        encoder.write(.end(nil), context: context, promise: nil)
        encoder.expectResponse(to: .GET)
        encoder.write(.head(head), closingConnection: true, context: context, promise: nil)
        encoder.write(.end(nil), context: context, promise: nil)
        channel.flush()
        #expect(
            try Self.bytes(channel)
                == "HTTP/1.1 200 OK\r\nServer: nginx\r\ncontent-length: 0\r\n\r\n"
                + "HTTP/1.1 200 OK\r\nServer: nginx\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
        _ = try channel.finish()
    }

    @Test func aLargeChunkGetsItsLengthInHex() throws {
        let channel = EmbeddedChannel(handler: HTTP1RequestEncoder())
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/")
        head.headers.add(name: "host", value: "a")
        try channel.writeOutbound(HTTPClientRequestPart.head(head))
        try channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(repeating: 0x61, count: 0x1_2345))))
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        let text = try Self.bytes(channel)
        #expect(text.hasPrefix("POST / HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n12345\r\naaa"))
        #expect(text.hasSuffix("aaa\r\n0\r\n\r\n"))
        _ = try channel.finish()
    }
}
