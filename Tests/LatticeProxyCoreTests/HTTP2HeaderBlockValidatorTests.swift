import LatticeProxyCore
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

@Suite struct HTTP2HeaderBlockValidatorTests {
    private static let request: [(String, String)] = [
        (":method", "GET"), (":scheme", "http"), (":path", "/a?b=c"), (":authority", "db:8080"),
        ("user-agent", "curl/8"), ("te", "trailers"), ("x-value", "caf\u{e9} with spaces\tand tab"),
    ]

    private static func check(_ fields: [(String, String)], as kind: HTTP2HeaderBlockRules.Kind) -> String? {
        do {
            try HTTP2HeaderBlockRules.validate(HPACKHeaders(fields), as: kind)
            return nil
        } catch {
            return error.problem
        }
    }

    @Test func wellFormedBlocksPass() {
        #expect(Self.check(Self.request, as: .request) == nil)
        #expect(Self.check([(":method", "CONNECT"), (":authority", "db:5432")], as: .request) == nil)
        #expect(Self.check([(":status", "200"), ("content-type", "text/plain"), ("grpc-status", "0")], as: .response) == nil)
        #expect(Self.check([(":status", "103"), ("link", "</a>; rel=preload")], as: .response) == nil)
        #expect(Self.check([("grpc-status", "0"), ("grpc-message", "")], as: .trailers) == nil)
        #expect(Self.check([], as: .trailers) == nil)
    }

    struct MalformedRequest: Sendable, CustomTestStringConvertible {
        let fields: [(String, String)]
        let problem: String
        var testDescription: String { self.problem }
    }

    static let malformedRequests: [MalformedRequest] = [
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/"), ("Host", "a")], problem: "a field name that is not a lowercase token"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/"), ("x y", "a")], problem: "a field name that is not a lowercase token"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/"), ("", "a")], problem: "a field name that is not a lowercase token"),
        MalformedRequest(fields: [(":", "GET"), (":scheme", "http"), (":path", "/")], problem: "a field name that is not a lowercase token"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/"), ("connection", "close")], problem: "a connection-specific field"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/"), ("transfer-encoding", "chunked")], problem: "a connection-specific field"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/"), ("keep-alive", "5")], problem: "a connection-specific field"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/"), ("proxy-connection", "x")], problem: "a connection-specific field"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/"), ("upgrade", "h2c")], problem: "a connection-specific field"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/"), ("x-a", "1\r\nx-b: 2")], problem: "a field value with CR, LF or NUL"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/"), ("x-a", "1\u{0}")], problem: "a field value with CR, LF or NUL"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/"), ("te", "gzip")], problem: "te other than \"trailers\""),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/a b")], problem: "a pseudo-header value with a space or a control character"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/\u{7f}")], problem: "a pseudo-header value with a space or a control character"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "")], problem: "an empty :path"),
        MalformedRequest(fields: [(":method", "GET"), ("x-a", "1"), (":scheme", "http"), (":path", "/")], problem: "a pseudo-header after a regular field"),
        MalformedRequest(fields: [(":method", "GET"), (":method", "POST"), (":scheme", "http"), (":path", "/")], problem: "a repeated pseudo-header"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":foo", "x")], problem: "an unknown pseudo-header"),
        MalformedRequest(fields: [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"), (":path", "/")], problem: "an unsupported pseudo-header"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http")], problem: "missing or misplaced pseudo-headers"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":status", "200")], problem: "missing or misplaced pseudo-headers"),
        MalformedRequest(fields: [(":method", "CONNECT"), (":authority", "a:1"), (":path", "/")], problem: "missing or misplaced pseudo-headers"),
        MalformedRequest(fields: [(":method", "GET"), (":scheme", "http"), (":path", "/"), ("host", "a"), ("host", "b")], problem: "a repeated host"),
    ]

    /// Each block is refused, with the problem named: the same blocks NIO's codec refuses.
    @Test(arguments: Self.malformedRequests)
    func malformedRequestsAreRefused(case malformed: MalformedRequest) {
        #expect(Self.check(malformed.fields, as: .request) == malformed.problem, "\(malformed.fields)")
    }

    @Test func malformedResponsesAndTrailersAreRefused() {
        #expect(Self.check([("content-type", "text/plain")], as: .response) == "missing or misplaced pseudo-headers")
        #expect(Self.check([(":status", "200"), (":path", "/")], as: .response) == "missing or misplaced pseudo-headers")
        #expect(Self.check([(":status", "200"), ("connection", "close")], as: .response) == "a connection-specific field")
        #expect(Self.check([(":status", "200"), ("x", "a\nb")], as: .response) == "a field value with CR, LF or NUL")
        // `te` is a request's field: a response with one is left alone, as by NIO.
        #expect(Self.check([(":status", "200"), ("te", "gzip")], as: .response) == nil)
        #expect(Self.check([(":status", "200")], as: .trailers) == "missing or misplaced pseudo-headers")
        #expect(Self.check([("Grpc-Status", "0")], as: .trailers) == "a field name that is not a lowercase token")
    }

    @Test func aStatusMustBeThreeDigitsAndAHostMustFitAnAuthority() {
        // NIO's codec traps converting a negative or empty :status to an HTTP/1 status.
        for status in ["-1", "", "20", "2000", "2x0", "000", "099", "600", "101"] {
            #expect(
                Self.check([(":status", status)], as: .response)
                    == "a :status that is not a status code from 100 to 599, 101 excepted",
                "\(status)"
            )
        }
        #expect(Self.check([(":status", "599")], as: .response) == nil)
        // A request's host becomes the :authority sent on.
        #expect(
            Self.check(Self.request + [("host", "svc evil")], as: .request)
                == "a host value with a space or a control character"
        )
        #expect(Self.check(Self.request + [("host", "db:8080")], as: .request) == nil)
        // Informational as NIO counts it: any 1xx.
        #expect(HTTP2HeaderBlockRules.isInterimResponse(HPACKHeaders([(":status", "103")])))
        #expect(!HTTP2HeaderBlockRules.isInterimResponse(HPACKHeaders([(":status", "200")])))
    }

    @Test func theMalformedStreamLimitClosesPastItsCountWithinItsWindow() {
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        let limit = HTTP2MalformedStreamLimit(maximumCount: 3, windowLength: .seconds(30), now: start)
        #expect(!limit.record(now: start))
        #expect(!limit.record(now: start + .seconds(1)))
        #expect(!limit.record(now: start + .seconds(2)))
        #expect(limit.record(now: start + .seconds(3)))
        // Once past, the connection is ended once: later resets don't ask again.
        #expect(!limit.record(now: start + .seconds(4)))
        let fresh = HTTP2MalformedStreamLimit(maximumCount: 1, windowLength: .seconds(30), now: start)
        #expect(!fresh.record(now: start))
        // A new window starts the count again.
        #expect(!fresh.record(now: start + .seconds(40)))
        #expect(fresh.record(now: start + .seconds(41)))
        // NIO's defaults for an unauthenticated peer.
        let nio = HTTP2MalformedStreamLimit(NIOHTTP2Handler.StreamConfiguration(), now: start)
        #expect((0..<200).allSatisfy { _ in !nio.record(now: start) })
        #expect(nio.record(now: start))
    }

    @Test func aPeersLongFieldNameIsCutInTheViolation() throws {
        let name = String(repeating: "X", count: 1000)
        do {
            try HTTP2HeaderBlockRules.validate(HPACKHeaders([(":status", "200"), (name, "1")]), as: .response)
            Issue.record("an uppercase name passed")
        } catch {
            #expect(error.field.utf8.count <= 64 + 3)
        }
    }

    // MARK: The handler on a stream channel

    private static func headers(_ fields: [(String, String)], endStream: Bool = false) -> HTTP2Frame.FramePayload {
        .headers(.init(headers: HPACKHeaders(fields), endStream: endStream))
    }

    @Test func aServedStreamPassesItsRequestAndTrailersOn() throws {
        let channel = EmbeddedChannel(handler: HTTP2HeaderBlockValidator(role: .receivesRequests))
        try channel.writeInbound(Self.headers(Self.request))
        try channel.writeInbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(string: "body")))))
        try channel.writeInbound(Self.headers([("grpc-status", "0")], endStream: true))
        var received = 0
        while try channel.readInbound(as: HTTP2Frame.FramePayload.self) != nil { received += 1 }
        #expect(received == 3)
        #expect(try channel.readOutbound(as: HTTP2Frame.FramePayload.self) == nil)
        _ = try channel.finish()
    }

    @Test func aMalformedRequestResetsItsStreamAndIsCounted() throws {
        var violations: [HTTP2HeaderBlockRules.Violation] = []
        let channel = EmbeddedChannel(handler: HTTP2HeaderBlockValidator(role: .receivesRequests) { violations.append($0); return .connectionCarriesOn })
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(Self.headers(Self.request + [("x-a", "1\r\nx-b: 2")]))
        try channel.writeInbound(HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer(string: "body")))))
        #expect(try channel.readInbound(as: HTTP2Frame.FramePayload.self) == nil, "a part of the refused stream went on")
        // The reset goes out once the pass that read the block is over.
        #expect(try channel.readOutbound(as: HTTP2Frame.FramePayload.self) == nil)
        channel.embeddedEventLoop.run()
        guard case .rstStream(let code) = try channel.readOutbound(as: HTTP2Frame.FramePayload.self) else {
            Issue.record("no RST_STREAM")
            return
        }
        #expect(code == .protocolError)
        #expect(violations.map(\.problem) == ["a field value with CR, LF or NUL"])
        #expect(!channel.isActive)
    }

    @Test func trailersWithAPseudoHeaderResetTheStream() throws {
        let channel = EmbeddedChannel(handler: HTTP2HeaderBlockValidator(role: .receivesRequests))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(Self.headers(Self.request))
        try channel.writeInbound(Self.headers([(":path", "/again")], endStream: true))
        channel.embeddedEventLoop.run()
        #expect(try channel.readInbound(as: HTTP2Frame.FramePayload.self) != nil)
        #expect(try channel.readInbound(as: HTTP2Frame.FramePayload.self) == nil)
        #expect(!channel.isActive)
    }

    /// Records the errors that reach the end of a stream's pipeline (where the exchange's relay sits).
    private final class ErrorRecorder: ChannelInboundHandler {
        typealias InboundIn = HTTP2Frame.FramePayload
        var errors: [any Error] = []
        var frames = 0

        func channelRead(context: ChannelHandlerContext, data: NIOAny) { self.frames += 1 }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { self.errors.append(error) }
    }

    @Test func anOpenedStreamTakesInterimResponsesThenTheFinalOneThenTrailers() throws {
        let recorder = ErrorRecorder()
        let channel = EmbeddedChannel(handlers: [HTTP2HeaderBlockValidator(role: .receivesResponses), recorder])
        try channel.writeInbound(Self.headers([(":status", "100")]))
        try channel.writeInbound(Self.headers([(":status", "103"), ("link", "</a>")]))
        try channel.writeInbound(Self.headers([(":status", "200"), ("content-type", "text/plain")]))
        try channel.writeInbound(Self.headers([("grpc-status", "0")], endStream: true))
        #expect(recorder.frames == 4)
        #expect(recorder.errors.isEmpty)
        _ = try channel.finish()
    }

    @Test func anInterimResponseThatEndsTheStreamFailsTheExchange() throws {
        let recorder = ErrorRecorder()
        let channel = EmbeddedChannel(handlers: [HTTP2HeaderBlockValidator(role: .receivesResponses), recorder])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(Self.headers([(":status", "103")], endStream: true))
        #expect(recorder.frames == 0)
        #expect((recorder.errors.first as? HTTP2HeaderBlockRules.Violation)?.problem == "an informational response that ends the stream")
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
    }

    @Test func aMalformedResponseFailsTheExchangeAndClosesTheStream() throws {
        let recorder = ErrorRecorder()
        let channel = EmbeddedChannel(handlers: [HTTP2HeaderBlockValidator(role: .receivesResponses), recorder])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        try channel.writeInbound(Self.headers([(":status", "200"), ("connection", "close")]))
        #expect(recorder.frames == 0)
        #expect(recorder.errors.count == 1)
        #expect((recorder.errors.first as? HTTP2HeaderBlockRules.Violation)?.problem == "a connection-specific field")
        // The stream's close is the one reset (the codec sends it, CANCEL): the validator writes none of its own.
        channel.embeddedEventLoop.run()
        #expect(try channel.readOutbound(as: HTTP2Frame.FramePayload.self) == nil)
        #expect(!channel.isActive)
    }
}
