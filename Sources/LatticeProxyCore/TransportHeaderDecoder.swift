import NIOCore

/// The user event ``TransportHeaderDecoder`` fires when the header has arrived.
public enum TransportHeaderEvent: Equatable, Sendable {
    /// The header was read; the application's bytes follow as ordinary `channelRead`s.
    case received(TransportHeader)
}

/// Reads the ``TransportHeader`` at the front of an inbound stream, then gets out of the way.
///
/// Put it right after the TLS handler (the header travels inside the mTLS stream). It holds back every byte until
/// the header is complete, then, in this order and within the same call:
///
/// 1. fires the user inbound event ``TransportHeaderEvent/received(_:)``,
/// 2. fires `channelRead` with the bytes that followed the header, if any (unchanged, including those that arrived
///    in the same buffer as the header),
/// 3. removes itself from the pipeline, so later bytes pass straight through.
///
/// A handler after it that needs the header before the application's bytes (to dial the target port) must buffer
/// the bytes of step 2 until its upstream is ready.
///
/// On a malformed header, a header not complete within `maxBytes`, or an end of input inside the header, it fires
/// `errorCaught` with a ``TransportHeaderError`` and closes the channel; an end of input before any byte just closes
/// it. While the header is incomplete it calls `read()` after each read burst, so it also works with autoRead off.
///
/// All methods run on the channel's event loop and never block.
public final class TransportHeaderDecoder: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private enum State {
        /// Collecting the header; the bytes so far, if any.
        case waiting(ByteBuffer?)

        /// The header has been delivered; everything passes through until the removal completes.
        case passingThrough

        /// The header was bad; the channel is closing and further bytes are dropped.
        case failed
    }

    private let maxBytes: Int
    private var state: State = .waiting(nil)

    /// Creates a decoder.
    ///
    /// - Parameter maxBytes: How many bytes may be buffered without completing a header before the channel is
    ///   closed with ``TransportHeaderError/headerTooLong``. A header is at most 269 bytes long.
    public init(maxBytes: Int = 300) {
        self.maxBytes = maxBytes
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer: ByteBuffer
        switch self.state {
        case .passingThrough:
            context.fireChannelRead(data)
            return
        case .failed:
            return
        case .waiting(.none):
            buffer = TransportHeaderDecoder.unwrapInboundIn(data)
        case .waiting(.some(let previous)):
            self.state = .waiting(nil)  // Drop the stored reference so appending doesn't copy.
            buffer = previous
            var bytes = TransportHeaderDecoder.unwrapInboundIn(data)
            buffer.writeBuffer(&bytes)
        }

        let header: TransportHeader?
        do {
            header = try TransportHeader.read(from: &buffer)
        } catch {
            self.fail(context: context, error: error)
            return
        }
        guard let header else {
            if buffer.readableBytes > self.maxBytes {
                self.fail(context: context, error: .headerTooLong)
            } else {
                self.state = .waiting(buffer)
            }
            return
        }

        self.state = .passingThrough
        context.fireUserInboundEventTriggered(TransportHeaderEvent.received(header))
        if buffer.readableBytes > 0 {
            context.fireChannelRead(TransportHeaderDecoder.wrapInboundOut(buffer))
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        switch self.state {
        case .waiting:
            context.read()
        case .passingThrough:
            context.fireChannelReadComplete()
        case .failed:
            break
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case .waiting(let buffered) = self.state, event as? ChannelEvent == .inputClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if buffered == nil {
            self.state = .failed
            context.close(promise: nil)
        } else {
            self.fail(context: context, error: .truncated)
        }
    }

    private func fail(context: ChannelHandlerContext, error: TransportHeaderError) {
        self.state = .failed
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension TransportHeaderDecoder: Sendable {}
