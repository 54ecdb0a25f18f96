import LatticeProxyCore
import NIOCore

/// What an ``InboundRecorder`` saw, in order.
enum InboundEvent: Equatable {
    case read(ByteBuffer)
    case readComplete
    case header(TransportHeader)
    case inputClosed
    case error(String)
    case inactive
}

/// Records every inbound event that reaches the end of the pipeline, consuming errors.
final class InboundRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private(set) var events: [InboundEvent] = []

    /// The bytes of all reads, concatenated.
    var readBytes: ByteBuffer {
        var all = ByteBuffer()
        for case .read(var bytes) in self.events {
            all.writeBuffer(&bytes)
        }
        return all
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.events.append(.read(self.unwrapInboundIn(data)))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.events.append(.readComplete)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .received(let header) = event as? TransportHeaderEvent {
            self.events.append(.header(header))
        } else if event as? ChannelEvent == .inputClosed {
            self.events.append(.inputClosed)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.events.append(.error("\(error)"))
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.events.append(.inactive)
    }
}

/// Sits at the head of a pipeline and records the outbound operations that reach the channel.
///
/// `EmbeddedChannel` ignores the close mode (any close closes it fully), so this handler stands in for a socket
/// that can half-close: `close(mode: .output)` is recorded and answered here. It can also hold writes back, to
/// stand in for a socket whose send buffer is full.
final class OutboundRecorder: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Operation: Equatable {
        case write(ByteBuffer)
        case flush
        case read
        case closeOutput
        case close
    }

    /// How `close(mode: .output)` is answered.
    enum HalfCloseBehaviour {
        case succeed
        case fail
        case hold
    }

    private(set) var operations: [Operation] = []
    var halfCloseBehaviour = HalfCloseBehaviour.succeed
    var holdsWrites = false
    private var heldWrites: [(NIOAny, EventLoopPromise<Void>?)] = []
    private var heldHalfClose: EventLoopPromise<Void>?
    private var context: ChannelHandlerContext?

    var readCount: Int {
        self.operations.filter { $0 == .read }.count
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.operations.append(.write(self.unwrapOutboundIn(data)))
        if self.holdsWrites {
            self.heldWrites.append((data, promise))
        } else {
            context.write(data, promise: promise)
        }
    }

    func flush(context: ChannelHandlerContext) {
        self.operations.append(.flush)
        if !self.holdsWrites {
            context.flush()
        }
    }

    func read(context: ChannelHandlerContext) {
        self.operations.append(.read)
        context.read()
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .output else {
            self.operations.append(.close)
            context.close(mode: mode, promise: promise)
            return
        }
        self.operations.append(.closeOutput)
        switch self.halfCloseBehaviour {
        case .succeed:
            promise?.succeed()
        case .fail:
            promise?.fail(ChannelError.operationUnsupported)
        case .hold:
            self.heldHalfClose = promise
        }
    }

    /// Passes the held writes on and flushes them, completing their promises.
    func releaseWrites() {
        self.holdsWrites = false
        let held = self.heldWrites
        self.heldWrites = []
        for (data, promise) in held {
            self.context?.write(data, promise: promise)
        }
        self.context?.flush()
    }

    /// Completes a held `close(mode: .output)`.
    func completeHalfClose() {
        self.heldHalfClose?.succeed()
        self.heldHalfClose = nil
    }
}

extension ByteBuffer {
    /// The readable bytes as a string, for readable expectations.
    var string: String {
        String(buffer: self)
    }
}
