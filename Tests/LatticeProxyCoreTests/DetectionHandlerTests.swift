import LatticeProxyCore
import NIOCore
import NIOEmbedded
import Testing

@Suite struct DetectionHandlerTests {
    /// An embedded channel with a ``DetectionHandler`` whose completion records its arguments, adds an
    /// ``InboundRecorder`` after itself and replays the bytes, as a real caller would.
    private final class Harness {
        let channel = EmbeddedChannel()
        let outbound = OutboundRecorder()
        let recorder = InboundRecorder()
        private(set) var completions: [(DetectedProtocol, ByteBuffer)] = []

        init(timeout: TimeAmount = .seconds(10), active: Bool = true) throws {
            let handler = DetectionHandler(timeout: timeout) { detected, bytes, context in
                self.completions.append((detected, bytes))
                try! context.pipeline.syncOperations.addHandler(self.recorder)
                context.fireChannelRead(NIOAny(bytes))
                context.fireChannelReadComplete()
            }
            try self.channel.pipeline.syncOperations.addHandlers([self.outbound, handler])
            if active {
                try self.connect()
            }
        }

        func connect() throws {
            self.channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 4143), promise: nil)
        }

        var hasDetectionHandler: Bool {
            (try? self.channel.pipeline.syncOperations.handler(type: DetectionHandler.self)) != nil
        }

        var detected: [DetectedProtocol] {
            self.completions.map(\.0)
        }
    }

    /// Writes `bytes` in `chunks` nearly equal reads.
    private func write(_ bytes: ByteBuffer, in chunks: Int, to channel: EmbeddedChannel) throws {
        let size = (bytes.readableBytes + chunks - 1) / chunks
        var bytes = bytes
        while let chunk = bytes.readSlice(length: min(size, bytes.readableBytes)), chunk.readableBytes > 0 {
            try channel.writeInbound(chunk)
        }
    }

    @Test func tlsInSeveralReadsIsHandedOverWithEveryByte() throws {
        let harness = try Harness()
        var stream = ClientHelloFixtures.withServerName
        stream.writeString("early data")
        try self.write(stream, in: 3, to: harness.channel)

        #expect(harness.detected == [.tls(serverName: ClientHelloFixtures.serverName)])
        #expect(harness.completions.first?.1 == stream)
        #expect(harness.recorder.readBytes == stream)
        #expect(!harness.hasDetectionHandler)

        // Later reads go straight to the handlers the completion added.
        try harness.channel.writeInbound(ByteBuffer(string: "more"))
        #expect(harness.recorder.readBytes.readableBytes == stream.readableBytes + 4)
        #expect(harness.completions.count == 1)
        #expect(try harness.channel.finish().isClean)
    }

    @Test(arguments: [
        ("GET /healthz HTTP/1.1\r\nHost: web\r\n\r\n", DetectedProtocol.http1, 23),
        ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\u{0}\u{0}\u{0}\u{4}", .http2, 24),
        ("*1\r\n$4\r\nPING\r\n", .opaque, 1),
    ])
    func plaintextProtocolsByteByByte(stream: String, expected: DetectedProtocol, decidingLength: Int) throws {
        let harness = try Harness()
        let bytes = ByteBuffer(string: stream)
        try self.write(bytes, in: bytes.readableBytes, to: harness.channel)

        #expect(harness.detected == [expected])
        #expect(harness.recorder.readBytes == bytes)
        // One read() when it started, then one after every read burst that left it undecided, and none after.
        #expect(harness.outbound.readCount == decidingLength)
    }

    @Test func asksForTheFirstBytesWhenAddedToAnActiveChannel() throws {
        let channel = EmbeddedChannel()
        let outbound = OutboundRecorder()
        try channel.pipeline.syncOperations.addHandler(outbound)
        channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 4143), promise: nil)
        #expect(outbound.readCount == 0)
        try channel.pipeline.syncOperations.addHandler(DetectionHandler(timeout: .seconds(1)) { _, _, _ in })
        #expect(outbound.readCount == 1)
        #expect(try channel.finish().isClean)
    }

    @Test func timeoutHandsOverBufferedBytesAsOpaque() throws {
        let harness = try Harness(timeout: .seconds(10))
        try harness.channel.writeInbound(ByteBuffer(string: "GET /"))
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(harness.completions.isEmpty)

        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(harness.detected == [.opaque])
        #expect(harness.recorder.readBytes.string == "GET /")
        #expect(!harness.hasDetectionHandler)
    }

    @Test func timeoutWithNothingReadIsOpaqueAndEmpty() throws {
        let harness = try Harness(timeout: .milliseconds(500))
        harness.channel.embeddedEventLoop.advanceTime(by: .milliseconds(500))
        #expect(harness.detected == [.opaque])
        #expect(harness.completions.first?.1.readableBytes == 0)
    }

    @Test func timeoutIsCountedFromActivation() throws {
        let harness = try Harness(timeout: .seconds(1), active: false)
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(harness.completions.isEmpty)
        try harness.connect()
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(harness.detected == [.opaque])
    }

    @Test func timeoutIsCancelledByADecision() throws {
        let harness = try Harness(timeout: .seconds(1))
        try harness.channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n"))
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(harness.detected == [.http1])
    }

    @Test func endOfInputDecidesWithWhatThereIs() throws {
        let harness = try Harness()
        try harness.channel.writeInbound(ByteBuffer(string: "GET /"))
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)

        #expect(harness.detected == [.opaque])
        #expect(harness.recorder.events == [.read(ByteBuffer(string: "GET /")), .readComplete, .inputClosed])
        #expect(harness.channel.isActive)
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(harness.completions.count == 1)
    }

    @Test func endOfInputWithAPartialClientHelloIsOpaque() throws {
        let harness = try Harness()
        try harness.channel.writeInbound(ClientHelloFixtures.withServerName.getSlice(at: 0, length: 100)!)
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(harness.detected == [.opaque])
        #expect(harness.recorder.readBytes.readableBytes == 100)
    }

    @Test func emptyConnectionThatHalfClosesIsClosedWithoutCompletion() throws {
        let harness = try Harness()
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(harness.completions.isEmpty)
        #expect(!harness.channel.isActive)
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(harness.completions.isEmpty)
    }

    @Test func connectionThatGoesAwayIsNeverHandedOver() throws {
        let harness = try Harness()
        try harness.channel.writeInbound(ByteBuffer(string: "GE"))
        try harness.channel.close().wait()
        harness.channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(harness.completions.isEmpty)
    }

    @Test func completionMayCloseTheChannel() throws {
        let channel = EmbeddedChannel()
        var detected: [DetectedProtocol] = []
        let handler = DetectionHandler(timeout: .seconds(1)) { protocolDetected, _, context in
            detected.append(protocolDetected)
            context.close(promise: nil)
        }
        try channel.pipeline.syncOperations.addHandler(handler)
        channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 4143), promise: nil)
        try channel.writeInbound(ByteBuffer(string: "\u{0}"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(detected == [.opaque])
        #expect(!channel.isActive)
    }
}
