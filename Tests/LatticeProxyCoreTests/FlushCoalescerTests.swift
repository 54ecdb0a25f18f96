import LatticeProxyCore
import NIOCore
import NIOEmbedded
import Testing

@Suite struct FlushCoalescerTests {
    /// A channel with an ``OutboundRecorder`` at its head (the socket's side) and a coalescer above it.
    private struct Coalesced {
        let loop = EmbeddedEventLoop()
        let recorder = OutboundRecorder()
        let coalescer = FlushCoalescer()
        let channel: EmbeddedChannel

        init() throws {
            self.channel = EmbeddedChannel(handlers: [self.recorder, self.coalescer], loop: self.loop)
            try self.channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func writeAndFlush(_ text: String) {
            self.channel.writeAndFlush(ByteBuffer(string: text), promise: nil)
        }
    }

    @Test func flushesOfOnePassGoOutOnceAfterTheLoopHasHandledThePass() throws {
        let coalesced = try Coalesced()
        coalesced.writeAndFlush("one")
        coalesced.writeAndFlush("two")
        #expect(coalesced.recorder.operations == [.write(ByteBuffer(string: "one")), .write(ByteBuffer(string: "two"))])

        coalesced.loop.run()
        #expect(
            coalesced.recorder.operations == [
                .write(ByteBuffer(string: "one")), .write(ByteBuffer(string: "two")), .flush,
            ]
        )
        #expect(try coalesced.channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "one"))
        #expect(try coalesced.channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "two"))

        // The next pass queues its own flush.
        coalesced.writeAndFlush("three")
        coalesced.loop.run()
        #expect(coalesced.recorder.operations.suffix(2) == [.write(ByteBuffer(string: "three")), .flush])
    }

    @Test func aCloseFlushesWhatWasWrittenBeforeIt() throws {
        let coalesced = try Coalesced()
        coalesced.writeAndFlush("last words")
        coalesced.channel.close(promise: nil)
        #expect(coalesced.recorder.operations == [.write(ByteBuffer(string: "last words")), .flush, .close])

        // The queued flush finds nothing left to do.
        coalesced.loop.run()
        #expect(coalesced.recorder.operations.filter { $0 == .flush }.count == 1)
    }

    @Test func aCloseFlushesAWriteThatWasNeverFlushed() throws {
        // As NIO's HTTP/2 connection manager does with its last GOAWAY: write, then close at once.
        let coalesced = try Coalesced()
        coalesced.channel.write(ByteBuffer(string: "goodbye"), promise: nil)
        coalesced.channel.close(promise: nil)
        #expect(coalesced.recorder.operations == [.write(ByteBuffer(string: "goodbye")), .flush, .close])
    }

    @Test func removingTheHandlerFlushesWhatItHeld() throws {
        let coalesced = try Coalesced()
        coalesced.writeAndFlush("in flight")
        try coalesced.channel.pipeline.syncOperations.removeHandler(coalesced.coalescer).wait()
        #expect(coalesced.recorder.operations == [.write(ByteBuffer(string: "in flight")), .flush])

        coalesced.loop.run()
        #expect(coalesced.recorder.operations.filter { $0 == .flush }.count == 1)
        // Without the coalescer, a flush goes straight through.
        coalesced.writeAndFlush("after")
        #expect(coalesced.recorder.operations.suffix(2) == [.write(ByteBuffer(string: "after")), .flush])
    }
}
