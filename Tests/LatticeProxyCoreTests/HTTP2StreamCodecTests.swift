import LatticeProxyCore
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import Testing

@Suite struct HTTP2StreamCodecTests {
    private static func fields(_ block: HPACKHeaders) -> [String] {
        block.map { "\($0.name): \($0.value)" }
    }

    private static func fields(_ headers: HTTPHeaders) -> [String] {
        headers.map { "\($0.name): \($0.value)" }
    }

    private static func frames(_ channel: EmbeddedChannel) throws -> [String] {
        var out: [String] = []
        while let frame = try channel.readOutbound(as: HTTP2Frame.FramePayload.self) {
            switch frame {
            case .headers(let headers):
                out.append("HEADERS\(headers.endStream ? "+END" : "") " + Self.fields(headers.headers).joined(separator: ", "))
            case .data(let data):
                guard case .byteBuffer(let buffer) = data.data else { out.append("DATA(file)"); continue }
                out.append("DATA\(data.endStream ? "+END" : "") \(String(buffer: buffer))")
            default:
                out.append("\(frame)")
            }
        }
        return out
    }

    // MARK: Conversions

    @Test func aRequestBlockBecomesAHeadWithItsAuthorityAsHostAndNoFramingAdded() throws {
        let block = HPACKHeaders([
            (":method", "POST"), (":scheme", "https"), (":path", "/v1/query?x=1"), (":authority", "trino:8080"),
            ("content-type", "application/grpc"), ("te", "trailers"), ("x-b3", "a"), ("x-b3", "b"),
        ])
        let head = try HTTP2HeadConversion.requestHead(from: block)
        #expect(head.method == .POST)
        #expect(head.uri == "/v1/query?x=1")
        #expect(head.version == .http2)
        // No transfer-encoding or content-length made up for the body (NIO's codec adds one for HTTP/1 peers).
        #expect(Self.fields(head.headers) == ["host: trino:8080", "content-type: application/grpc", "te: trailers", "x-b3: a", "x-b3: b"])
    }

    @Test func aRequestsOwnHostIsKeptAndNotDoubled() throws {
        let block = HPACKHeaders([(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "a"), ("x", "1"), ("host", "b")])
        #expect(Self.fields(try HTTP2HeadConversion.requestHead(from: block).headers) == ["x: 1", "host: b"])
        let noAuthority = HPACKHeaders([(":method", "GET"), (":scheme", "http"), (":path", "/"), ("host", "b")])
        #expect(Self.fields(try HTTP2HeadConversion.requestHead(from: noAuthority).headers) == ["host: b"])
        let method = HPACKHeaders([(":method", "PURGE"), (":scheme", "http"), (":path", "/"), (":authority", "a")])
        #expect(try HTTP2HeadConversion.requestHead(from: method).method == .PURGE)
        let raw = HPACKHeaders([(":method", "FROB"), (":scheme", "http"), (":path", "/"), (":authority", "a")])
        #expect(try HTTP2HeadConversion.requestHead(from: raw).method == .RAW(value: "FROB"))
    }

    @Test func aRequestWithoutAnAuthorityOrAPathIsRefused() {
        #expect(throws: NIOHTTP2Errors.MissingPseudoHeader.self) {
            try HTTP2HeadConversion.requestHead(from: HPACKHeaders([(":method", "GET"), (":scheme", "http"), (":path", "/")]))
        }
        #expect(throws: NIOHTTP2Errors.MissingPseudoHeader.self) {
            try HTTP2HeadConversion.requestHead(from: HPACKHeaders([(":method", "CONNECT"), (":authority", "db:5432")]))
        }
    }

    @Test func aResponseBlockBecomesAHead() throws {
        let head = try HTTP2HeadConversion.responseHead(from: HPACKHeaders([(":status", "404"), ("content-length", "3")]))
        #expect(head.status == .notFound)
        #expect(Self.fields(head.headers) == ["content-length: 3"])
        #expect(throws: NIOHTTP2Errors.InvalidStatusValue.self) {
            try HTTP2HeadConversion.responseHead(from: HPACKHeaders([(":status", "-1")]))
        }
        #expect(throws: NIOHTTP2Errors.MissingPseudoHeader.self) {
            try HTTP2HeadConversion.responseHead(from: HPACKHeaders([("content-length", "3")]))
        }
    }

    @Test func aRequestHeadBecomesABlockWithHostAsAuthorityAndHopByHopFieldsLeftOut() throws {
        var headers = HTTPHeaders()
        headers.add(name: "host", value: "db:5432")
        headers.add(name: "Content-Type", value: "application/grpc")
        headers.add(name: "Connection", value: "x-hop, Keep-Alive")
        headers.add(name: "X-Hop", value: "1")
        headers.add(name: "keep-alive", value: "timeout=5")
        headers.add(name: "transfer-encoding", value: "chunked")
        headers.add(name: "upgrade", value: "h2c")
        headers.add(name: "proxy-connection", value: "keep-alive")
        headers.add(name: "l5d-client-id", value: "web.default.serviceaccount.identity.lattice.cluster.local")
        let head = HTTPRequestHead(version: .http2, method: .POST, uri: "/a", headers: headers)
        let block = try HTTP2HeadConversion.requestBlock(for: head, scheme: "http")
        #expect(Self.fields(block) == [
            ":path: /a", ":method: POST", ":scheme: http", ":authority: db:5432",
            "content-type: application/grpc", "l5d-client-id: web.default.serviceaccount.identity.lattice.cluster.local",
        ])
    }

    @Test func credentialsAreNeverIndexedAndTheRestIs() throws {
        let headers = HTTPHeaders([
            ("host", "api"), ("Authorization", "Bearer t"), ("cookie", "a=1"), ("cookie", "b=2"), ("x-a", "1"),
            ("proxy-authorization", "Basic x"),
        ])
        let block = try HTTP2HeadConversion.requestBlock(for: HTTPRequestHead(version: .http2, method: .GET, uri: "/", headers: headers), scheme: "http")
        let marked = block.map { "\($0.name): \($0.value) \($0.indexable == .neverIndexed ? "never" : "indexable")" }
        #expect(marked == [
            ":path: / indexable", ":method: GET indexable", ":scheme: http indexable", ":authority: api indexable",
            "authorization: Bearer t never", "cookie: a=1 never", "cookie: b=2 never", "x-a: 1 indexable",
            "proxy-authorization: Basic x never",
        ])
        let response = HTTPResponseHead(version: .http2, status: .ok, headers: HTTPHeaders([("set-cookie", "s=1"), ("vary", "cookie")]))
        #expect(HTTP2HeadConversion.responseBlock(for: response).map { $0.indexable } == [.indexable, .neverIndexed, .indexable])
        // Encoded, a never-indexed field is a literal the peer's decoder keeps out of its table (RFC 7541 §6.2.3),
        // where an indexable one is added to it (§6.2.1).
        var encoder = HPACKEncoder(allocator: ByteBufferAllocator())
        var bytes = ByteBuffer()
        let credential = HTTPResponseHead(version: .http2, status: .ok, headers: HTTPHeaders([("set-cookie", "s=1")]))
        try encoder.encode(headers: HTTP2HeadConversion.responseBlock(for: credential), to: &bytes)
        #expect(bytes.readableBytesView.dropFirst().first.map { $0 & 0xF0 } == 0x10)
        bytes.clear()
        let plain = HTTPResponseHead(version: .http2, status: .ok, headers: HTTPHeaders([("x-a", "1")]))
        try encoder.encode(headers: HTTP2HeadConversion.responseBlock(for: plain), to: &bytes)
        #expect(bytes.readableBytesView.dropFirst().first.map { $0 & 0xC0 } == 0x40)
    }

    @Test func aRequestHeadWithoutOneHostIsRefused() {
        #expect(throws: NIOHTTP2Errors.MissingHostHeader.self) {
            try HTTP2HeadConversion.requestBlock(for: HTTPRequestHead(version: .http2, method: .GET, uri: "/"), scheme: "http")
        }
        let twice = HTTPHeaders([("host", "a"), ("Host", "b")])
        #expect(throws: NIOHTTP2Errors.DuplicateHostHeader.self) {
            try HTTP2HeadConversion.requestBlock(for: HTTPRequestHead(version: .http2, method: .GET, uri: "/", headers: twice), scheme: "http")
        }
    }

    @Test func aResponseHeadAndTrailersBecomeBlocks() {
        let head = HTTPResponseHead(version: .http2, status: .ok, headers: HTTPHeaders([("Server", "nginx"), ("host", "kept"), ("connection", "close")]))
        #expect(Self.fields(HTTP2HeadConversion.responseBlock(for: head)) == [":status: 200", "server: nginx", "host: kept"])
        let trailers = HTTPHeaders([("grpc-status", "0"), ("Grpc-Message", "ok")])
        #expect(Self.fields(HTTP2HeadConversion.trailersBlock(for: trailers)) == ["grpc-status: 0", "grpc-message: ok"])
    }

    /// The same fields, in the same order, as NIO's codecs sent for a request read from HTTP/2 and written to HTTP/2,
    /// but for the `transfer-encoding` or `content-length` NIO made up on the way in (and then dropped, or sent on).
    @Test func aRequestCrossesTheProxyAsNIOsCodecsCarriedIt() throws {
        let received = HPACKHeaders([
            (":method", "GET"), (":scheme", "http"), (":path", "/q?a=1"), (":authority", "api:80"),
            ("accept", "*/*"), ("user-agent", "h2load nghttp2/1.52.0"), ("x-request-id", "42"),
        ])
        let head = try HTTP2HeadConversion.requestHead(from: received)
        let sent = try HTTP2HeadConversion.requestBlock(for: head, scheme: "http")
        #expect(Self.fields(sent) == [
            ":path: /q?a=1", ":method: GET", ":scheme: http", ":authority: api:80",
            "accept: */*", "user-agent: h2load nghttp2/1.52.0", "x-request-id: 42",
        ])
    }

    // MARK: The server side of a stream

    @Test func aClientsStreamIsReadAsRequestParts() throws {
        let channel = EmbeddedChannel(handler: HTTP2ServerStreamCodec())
        defer { _ = try? channel.finish() }
        let request = HPACKHeaders([(":method", "POST"), (":scheme", "http"), (":path", "/"), (":authority", "a")])
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: request)))
        try channel.writeInbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(string: "body")))))
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders([("x-sum", "1")]), endStream: true)))
        guard case .head(let head) = try channel.readInbound(as: HTTPServerRequestPart.self) else {
            Issue.record("no head")
            return
        }
        #expect(head.method == .POST)
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == .body(ByteBuffer(string: "body")))
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == .end(HTTPHeaders([("x-sum", "1")])))
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == nil)
        // A header block after the trailers is refused, not taken for anything.
        #expect(throws: HTTP2StreamCodecError.headerBlockAfterTrailers) {
            try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders([("x", "1")]))))
        }
    }

    @Test func aRequestWithoutABodyIsAHeadAndItsEnd() throws {
        let channel = EmbeddedChannel(handler: HTTP2ServerStreamCodec())
        defer { _ = try? channel.finish() }
        let request = HPACKHeaders([(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "a")])
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: request, endStream: true)))
        guard case .head = try channel.readInbound(as: HTTPServerRequestPart.self) else {
            Issue.record("no head")
            return
        }
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == .end(nil))
        // An empty DATA with END_STREAM is the end alone.
        let second = EmbeddedChannel(handler: HTTP2ServerStreamCodec())
        defer { _ = try? second.finish() }
        try second.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: request)))
        try second.writeInbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)))
        _ = try second.readInbound(as: HTTPServerRequestPart.self)
        #expect(try second.readInbound(as: HTTPServerRequestPart.self) == .end(nil))
        #expect(try second.readInbound(as: HTTPServerRequestPart.self) == nil)
    }

    @Test func aMalformedRequestBlockIsAnErrorAndNoPart() throws {
        let channel = EmbeddedChannel(handler: HTTP2ServerStreamCodec())
        defer { _ = try? channel.finish() }
        #expect(throws: NIOHTTP2Errors.MissingPseudoHeader.self) {
            try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders([(":method", "GET")]))))
        }
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == nil)
    }

    @Test func aResponsesEndRidesOnItsLastFrame() throws {
        let channel = EmbeddedChannel(handler: HTTP2ServerStreamCodec())
        defer { _ = try? channel.finish() }
        let head = HTTPResponseHead(version: .http2, status: .ok, headers: HTTPHeaders([("content-length", "5")]))
        let headWritten = channel.eventLoop.makePromise(of: Void.self)
        let endWritten = channel.eventLoop.makePromise(of: Void.self)
        channel.write(HTTPServerResponsePart.head(head), promise: headWritten)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "hello"))), promise: nil)
        channel.write(HTTPServerResponsePart.end(nil), promise: endWritten)
        channel.flush()
        #expect(try Self.frames(channel) == ["HEADERS :status: 200, content-length: 5", "DATA+END hello"])
        #expect(try headWritten.futureResult.wait() == ())
        #expect(try endWritten.futureResult.wait() == ())

        // No body: the head carries the end. Trailers: a HEADERS of their own.
        let other = EmbeddedChannel(handler: HTTP2ServerStreamCodec())
        defer { _ = try? other.finish() }
        other.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http2, status: .noContent)), promise: nil)
        other.write(HTTPServerResponsePart.end(nil), promise: nil)
        other.flush()
        #expect(try Self.frames(other) == ["HEADERS+END :status: 204"])
        let grpc = EmbeddedChannel(handler: HTTP2ServerStreamCodec())
        defer { _ = try? grpc.finish() }
        grpc.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http2, status: .ok)), promise: nil)
        grpc.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "msg"))), promise: nil)
        grpc.write(HTTPServerResponsePart.end(HTTPHeaders([("grpc-status", "0")])), promise: nil)
        grpc.flush()
        #expect(try Self.frames(grpc) == ["HEADERS :status: 200", "DATA msg", "HEADERS+END grpc-status: 0"])
    }

    @Test func aFlushSendsTheFrameHeldAndALaterEndIsAnEmptyData() throws {
        let channel = EmbeddedChannel(handler: HTTP2ServerStreamCodec())
        defer { _ = try? channel.finish() }
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http2, status: .ok)), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "part"))), promise: nil)
        channel.flush()
        #expect(try Self.frames(channel) == ["HEADERS :status: 200", "DATA part"])
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        #expect(try Self.frames(channel) == ["DATA+END "])
    }

    @Test func anInterimResponseGoesOutBeforeTheFinalOneAndTrailersEndTheStream() throws {
        let channel = EmbeddedChannel(handler: HTTP2ServerStreamCodec())
        defer { _ = try? channel.finish() }
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http2, status: .init(statusCode: 103))), promise: nil)
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http2, status: .ok)), promise: nil)
        channel.write(HTTPServerResponsePart.end(HTTPHeaders([("grpc-status", "5")])), promise: nil)
        channel.flush()
        #expect(try Self.frames(channel) == ["HEADERS :status: 103", "HEADERS :status: 200", "HEADERS+END grpc-status: 5"])
    }

    @Test func aPartWrittenAfterTheEndOrTheCloseIsRefused() throws {
        let channel = EmbeddedChannel(handler: HTTP2ServerStreamCodec())
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http2, status: .ok)), promise: nil)
        channel.write(HTTPServerResponsePart.end(nil), promise: nil)
        let late = channel.eventLoop.makePromise(of: Void.self)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "late"))), promise: late)
        #expect(throws: HTTP2StreamCodecError.writeAfterEnd) { try late.futureResult.wait() }
        channel.flush()
        #expect(try Self.frames(channel) == ["HEADERS+END :status: 200"])
        _ = try? channel.finish()

        // The stream closes with a frame held: its write fails, as does any after.
        let closing = EmbeddedChannel(handler: HTTP2ClientStreamCodec())
        try closing.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let held = closing.eventLoop.makePromise(of: Void.self)
        let head = HTTPRequestHead(version: .http2, method: .POST, uri: "/", headers: HTTPHeaders([("host", "a")]))
        closing.write(HTTPClientRequestPart.head(head), promise: held)
        closing.pipeline.fireChannelInactive()
        #expect(throws: ChannelError.ioOnClosedChannel) { try held.futureResult.wait() }
        let after = closing.eventLoop.makePromise(of: Void.self)
        closing.write(HTTPClientRequestPart.end(nil), promise: after)
        #expect(throws: ChannelError.ioOnClosedChannel) { try after.futureResult.wait() }
        _ = try? closing.finish()
    }

    @Test func aFrameHeldWhenTheStreamFailsHasItsWriteFailed() throws {
        let channel = EmbeddedChannel(handler: HTTP2ServerStreamCodec())
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http2, status: .ok)), promise: written)
        channel.pipeline.fireErrorCaught(NIOHTTP2Errors.streamClosed(streamID: 1, errorCode: .cancel))
        #expect(throws: NIOHTTP2Errors.StreamClosed.self) { try written.futureResult.wait() }
        #expect(throws: NIOHTTP2Errors.StreamClosed.self) { try channel.throwIfErrorCaught() }
        _ = try? channel.finish()
    }

    // MARK: The client side of a stream

    @Test func aRequestWithoutABodyIsOneHeadersFrame() throws {
        let channel = EmbeddedChannel(handler: HTTP2ClientStreamCodec())
        defer { _ = try? channel.finish() }
        let head = HTTPRequestHead(version: .http2, method: .GET, uri: "/", headers: HTTPHeaders([("host", "a")]))
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.write(HTTPClientRequestPart.head(head), promise: written)
        channel.write(HTTPClientRequestPart.end(nil), promise: nil)
        channel.flush()
        #expect(try Self.frames(channel) == ["HEADERS+END :path: /, :method: GET, :scheme: http, :authority: a"])
        #expect(try written.futureResult.wait() == ())
    }

    @Test func aRequestHeadThatCannotBeSentFailsItsWrite() throws {
        let channel = EmbeddedChannel(handler: HTTP2ClientStreamCodec())
        defer { _ = try? channel.finish() }
        let written = channel.eventLoop.makePromise(of: Void.self)
        channel.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http2, method: .GET, uri: "/")), promise: written)
        #expect(throws: NIOHTTP2Errors.MissingHostHeader.self) { try written.futureResult.wait() }
        #expect(throws: NIOHTTP2Errors.MissingHostHeader.self) { try channel.throwIfErrorCaught() }
        channel.flush()
        #expect(try Self.frames(channel) == [])
    }

    @Test func anUpstreamsResponseIsReadAsResponseParts() throws {
        let channel = EmbeddedChannel(handler: HTTP2ClientStreamCodec())
        defer { _ = try? channel.finish() }
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders([(":status", "103"), ("link", "</a>")]))))
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders([(":status", "200"), ("content-type", "application/grpc")]))))
        try channel.writeInbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(string: "m")))))
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: HPACKHeaders([("grpc-status", "0")]), endStream: true)))
        var parts: [String] = []
        while let part = try channel.readInbound(as: HTTPClientResponsePart.self) {
            switch part {
            case .head(let head): parts.append("head \(head.status.code) " + Self.fields(head.headers).joined(separator: ", "))
            case .body(let body): parts.append("body \(String(buffer: body))")
            case .end(let trailers): parts.append("end " + (trailers.map { Self.fields($0).joined(separator: ", ") } ?? "-"))
            }
        }
        #expect(parts == ["head 103 link: </a>", "head 200 content-type: application/grpc", "body m", "end grpc-status: 0"])
    }

    @Test func aTrailersOnlyResponseIsAHeadAndItsEnd() throws {
        let channel = EmbeddedChannel(handler: HTTP2ClientStreamCodec())
        defer { _ = try? channel.finish() }
        let block = HPACKHeaders([(":status", "200"), ("grpc-status", "14")])
        try channel.writeInbound(HTTP2Frame.FramePayload.headers(.init(headers: block, endStream: true)))
        guard case .head(let head) = try channel.readInbound(as: HTTPClientResponsePart.self) else {
            Issue.record("no head")
            return
        }
        #expect(head.headers.first(name: "grpc-status") == "14")
        #expect(head.headers.first(name: "content-length") == nil)
        #expect(try channel.readInbound(as: HTTPClientResponsePart.self) == .end(nil))
    }
}
