import LatticeProxyCore
import NIOCore
import NIOEmbedded
import Testing

@Suite struct TransportHeaderDecoderTests {
    private let header = TransportHeader(port: 8080, protocolHint: .http1, name: "web.default.svc.cluster.local")

    private struct Harness {
        let channel: EmbeddedChannel
        let outbound = OutboundRecorder()
        let recorder = InboundRecorder()

        init(maxBytes: Int = 300) throws {
            self.channel = EmbeddedChannel()
            try self.channel.pipeline.syncOperations.addHandlers([
                self.outbound, TransportHeaderDecoder(maxBytes: maxBytes), self.recorder,
            ])
            self.channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 4143), promise: nil)
        }

        var hasDecoder: Bool {
            (try? self.channel.pipeline.syncOperations.handler(type: TransportHeaderDecoder.self)) != nil
        }
    }

    private func encodedHeader() -> ByteBuffer {
        var buffer = ByteBuffer()
        self.header.write(into: &buffer)
        return buffer
    }

    @Test func headerAndPayloadInOneBuffer() throws {
        let harness = try Harness()
        var bytes = self.encodedHeader()
        bytes.writeString("GET / HTTP/1.1\r\n")
        try harness.channel.writeInbound(bytes)

        #expect(harness.recorder.events.first == .header(self.header))
        #expect(harness.recorder.events.dropFirst().first == .read(ByteBuffer(string: "GET / HTTP/1.1\r\n")))
        #expect(!harness.hasDecoder)

        // Later bytes pass straight through.
        try harness.channel.writeInbound(ByteBuffer(string: "Host: web\r\n"))
        #expect(harness.recorder.readBytes.string == "GET / HTTP/1.1\r\nHost: web\r\n")
        #expect(try harness.channel.finish().isClean)
    }

    @Test func headerAloneFiresNoEmptyRead() throws {
        let harness = try Harness()
        try harness.channel.writeInbound(self.encodedHeader())
        #expect(harness.recorder.events == [.header(self.header), .readComplete])
        #expect(!harness.hasDecoder)
    }

    @Test func splitAtEveryByteKeepsTheFollowingBytesExact() throws {
        var stream = self.encodedHeader()
        let payload = ByteBuffer(bytes: (0...255).map { UInt8($0) })
        stream.writeImmutableBuffer(payload)
        for split in 0...stream.readableBytes {
            let harness = try Harness()
            try harness.channel.writeInbound(stream.getSlice(at: 0, length: split)!)
            try harness.channel.writeInbound(stream.getSlice(at: split, length: stream.readableBytes - split)!)

            let headers = harness.recorder.events.filter { if case .header = $0 { true } else { false } }
            #expect(headers == [.header(self.header)], "split at \(split)")
            #expect(harness.recorder.events.first == .header(self.header), "split at \(split)")
            #expect(harness.recorder.readBytes == payload, "split at \(split)")
            #expect(!harness.hasDecoder)
        }
    }

    @Test func byteByByte() throws {
        let harness = try Harness()
        var stream = self.encodedHeader()
        stream.writeString("xyz")
        while let byte = stream.readSlice(length: 1) {
            try harness.channel.writeInbound(byte)
        }
        #expect(harness.recorder.events.first == .header(self.header))
        #expect(harness.recorder.readBytes.string == "xyz")
        // While incomplete, the decoder asked for more after each read.
        #expect(harness.outbound.readCount == self.encodedHeader().readableBytes - 1)
    }

    @Test(arguments: [
        (0, [0x47] as [UInt8], TransportHeaderError.badMagic),
        (8, [0x00, 0x00], .invalidPort),
        (10, [0x09], .unknownProtocolHint),
        (12, [0x01, 0x2C], .nameTooLong),
        (14, [0xFF], .invalidName),
    ])
    func badHeaderFiresTheErrorAndCloses(offset: Int, bytes: [UInt8], error: TransportHeaderError) throws {
        let harness = try Harness()
        var stream = self.encodedHeader()
        stream.setBytes(bytes, at: offset)
        stream.writeString("payload")
        try harness.channel.writeInbound(stream)

        #expect(harness.recorder.events.first == .error("\(error)"))
        #expect(!harness.recorder.events.contains { if case .read = $0 { true } else { false } })
        #expect(harness.recorder.events.contains(.inactive))
        #expect(!harness.channel.isActive)
    }

    @Test func headerNotCompleteWithinTheLimitCloses() throws {
        let harness = try Harness(maxBytes: 20)
        let stream = self.encodedHeader()
        try harness.channel.writeInbound(stream.getSlice(at: 0, length: 20)!)
        #expect(harness.channel.isActive)
        try harness.channel.writeInbound(stream.getSlice(at: 20, length: 1)!)
        #expect(harness.recorder.events.first == .error("\(TransportHeaderError.headerTooLong)"))
        #expect(!harness.channel.isActive)
    }

    @Test func endOfInputInsideTheHeaderIsTruncated() throws {
        let harness = try Harness()
        try harness.channel.writeInbound(self.encodedHeader().getSlice(at: 0, length: 10)!)
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(harness.recorder.events.first == .error("\(TransportHeaderError.truncated)"))
        #expect(!harness.channel.isActive)
    }

    @Test func endOfInputBeforeAnyByteJustCloses() throws {
        let harness = try Harness()
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(harness.recorder.events == [.inactive])
        #expect(!harness.channel.isActive)
    }

    @Test func endOfInputAfterTheHeaderPassesThrough() throws {
        let harness = try Harness()
        try harness.channel.writeInbound(self.encodedHeader())
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(harness.recorder.events.last == .inputClosed)
        #expect(harness.channel.isActive)
    }
}
