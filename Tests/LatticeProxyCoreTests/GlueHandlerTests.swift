import LatticeProxyCore
import NIOCore
import NIOEmbedded
import Testing

/// Records what a pair of glue handlers reports.
private final class RecordingObserver: SpliceObserver {
    var reads: [(count: Int, side: SpliceSide)] = []
    var closedCount = 0

    func bytesRead(_ count: Int, side: SpliceSide) {
        self.reads.append((count, side))
    }

    func closed() {
        self.closedCount += 1
    }
}

@Suite struct GlueHandlerTests {
    private struct TestError: Error {}

    /// Two embedded channels on one loop, spliced, each with an ``OutboundRecorder`` at its head.
    private struct Splice {
        let loop = EmbeddedEventLoop()
        let first: EmbeddedChannel
        let second: EmbeddedChannel
        let firstOutbound = OutboundRecorder()
        let secondOutbound = OutboundRecorder()
        let observer = RecordingObserver()

        init() throws {
            let (firstGlue, secondGlue) = GlueHandler.matchedPair(observer: self.observer)
            self.first = EmbeddedChannel(handlers: [self.firstOutbound, firstGlue], loop: self.loop)
            self.second = EmbeddedChannel(handlers: [self.secondOutbound, secondGlue], loop: self.loop)
            let address = try SocketAddress(ipAddress: "127.0.0.1", port: 1)
            self.first.connect(to: address, promise: nil)
            self.second.connect(to: address, promise: nil)
        }

        func readOutbound(_ channel: EmbeddedChannel) throws -> String? {
            try channel.readOutbound(as: ByteBuffer.self)?.string
        }
    }

    @Test func dataFlowsBothWaysAndIsCounted() throws {
        let splice = try Splice()
        try splice.first.writeInbound(ByteBuffer(string: "request"))
        #expect(try splice.readOutbound(splice.second) == "request")
        try splice.second.writeInbound(ByteBuffer(string: "response!"))
        #expect(try splice.readOutbound(splice.first) == "response!")

        #expect(splice.observer.reads.map(\.count) == [7, 9])
        #expect(splice.observer.reads.map(\.side) == [.first, .second])
        #expect(splice.observer.closedCount == 0)
    }

    @Test func writesAreFlushedOnReadComplete() throws {
        let splice = try Splice()
        splice.first.pipeline.fireChannelRead(ByteBuffer(string: "a"))
        splice.first.pipeline.fireChannelRead(ByteBuffer(string: "b"))
        #expect(try splice.readOutbound(splice.second) == nil)
        splice.first.pipeline.fireChannelReadComplete()
        #expect(try splice.readOutbound(splice.second) == "a")
        #expect(try splice.readOutbound(splice.second) == "b")
        #expect(splice.secondOutbound.operations.filter { $0 == .flush }.count == 1)
        #expect(splice.observer.reads.count == 2)
    }

    @Test func readIsHeldWhileThePartnerIsUnwritable() throws {
        let splice = try Splice()
        splice.first.read()
        #expect(splice.firstOutbound.readCount == 1)

        splice.second.isWritable = false
        splice.second.pipeline.fireChannelWritabilityChanged()
        splice.first.read()
        splice.first.read()
        #expect(splice.firstOutbound.readCount == 1)

        // The other direction is not affected.
        splice.second.read()
        #expect(splice.secondOutbound.readCount == 1)

        splice.second.isWritable = true
        splice.second.pipeline.fireChannelWritabilityChanged()
        #expect(splice.firstOutbound.readCount == 2)

        // A writability change with no read held back issues none.
        splice.second.pipeline.fireChannelWritabilityChanged()
        #expect(splice.firstOutbound.readCount == 2)
    }

    @Test func halfCloseCrossesTheSpliceAfterTheData() throws {
        let splice = try Splice()
        splice.first.pipeline.fireChannelRead(ByteBuffer(string: "last words"))
        splice.first.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)

        #expect(
            splice.secondOutbound.operations == [.write(ByteBuffer(string: "last words")), .flush, .closeOutput]
        )
        #expect(splice.first.isActive)
        #expect(splice.second.isActive)

        // The response still flows back after the half-close.
        try splice.second.writeInbound(ByteBuffer(string: "reply"))
        #expect(try splice.readOutbound(splice.first) == "reply")
        #expect(try splice.readOutbound(splice.second) == "last words")
    }

    @Test func bothDirectionsHalfClosedClosesBoth() throws {
        let splice = try Splice()
        splice.first.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(splice.second.isActive)
        splice.second.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)

        // First had lost its input already, so its output close becomes a full close.
        #expect(splice.firstOutbound.operations.contains(.close))
        #expect(!splice.first.isActive)
        #expect(!splice.second.isActive)
        #expect(splice.observer.closedCount == 1)
    }

    @Test func responseAfterBothHalfClosesIsWrittenBeforeTheClose() throws {
        let splice = try Splice()
        splice.firstOutbound.holdsWrites = true
        splice.first.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        try splice.second.writeInbound(ByteBuffer(string: "response"))
        splice.second.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(!splice.second.isActive)
        #expect(splice.first.isActive)

        splice.firstOutbound.releaseWrites()
        #expect(try splice.readOutbound(splice.first) == "response")
        #expect(!splice.first.isActive)
        #expect(splice.observer.closedCount == 1)
    }

    @Test func partnerThatCannotHalfCloseIsClosed() throws {
        let splice = try Splice()
        splice.secondOutbound.halfCloseBehaviour = .fail
        splice.first.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(!splice.second.isActive)
        #expect(!splice.first.isActive)
    }

    @Test func closePropagates() throws {
        let splice = try Splice()
        try splice.second.close().wait()
        #expect(!splice.first.isActive)
        #expect(splice.firstOutbound.operations.contains(.close))
        #expect(splice.observer.closedCount == 1)
    }

    @Test func closeWaitsForWritesAlreadyForwarded() throws {
        let splice = try Splice()
        splice.secondOutbound.holdsWrites = true
        try splice.first.writeInbound(ByteBuffer(string: "final response"))
        try splice.first.close().wait()
        #expect(splice.second.isActive)
        #expect(splice.observer.closedCount == 0)

        splice.secondOutbound.releaseWrites()
        #expect(try splice.readOutbound(splice.second) == "final response")
        #expect(!splice.second.isActive)
        #expect(splice.observer.closedCount == 1)
    }

    @Test func errorClosesBothAtOnce() throws {
        let splice = try Splice()
        splice.secondOutbound.holdsWrites = true
        try splice.first.writeInbound(ByteBuffer(string: "pending"))
        splice.first.pipeline.fireErrorCaught(TestError())
        #expect(!splice.first.isActive)
        #expect(!splice.second.isActive)
        #expect(splice.observer.closedCount == 1)
        // The error is consumed, not left for the channel.
        #expect(throws: Never.self) { try splice.first.throwIfErrorCaught() }
    }

    @Test func handlersAddedOneAfterTheOtherReleaseAHeldRead() throws {
        let loop = EmbeddedEventLoop()
        let (firstGlue, secondGlue) = GlueHandler.matchedPair()
        let firstOutbound = OutboundRecorder()
        let first = EmbeddedChannel(handlers: [firstOutbound, firstGlue], loop: loop)
        first.read()
        #expect(firstOutbound.readCount == 0)

        let second = EmbeddedChannel(handlers: [secondGlue], loop: loop)
        #expect(firstOutbound.readCount == 1)
        _ = try first.finish()
        _ = try second.finish(acceptAlreadyClosed: true)
    }
}
