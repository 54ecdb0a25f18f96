import NIOCore

/// One half of a pair of handlers that splices two channels together, byte for byte.
///
/// Make a pair with ``matchedPair(observer:)`` and add one handler as the last handler of each channel. Both
/// channels must be on the same event loop (bootstrap the upstream on `context.eventLoop`): the handlers call into
/// each other directly. Each handler:
///
/// - forwards every `channelRead` to the partner's channel as a write, and flushes on `channelReadComplete`;
/// - passes back-pressure across: it lets its channel's `read()` through only while the partner's channel is
///   writable, and remembers a held-back read until the partner becomes writable again. It relies on the channel's
///   `autoRead` (the default) to issue those `read()`s: a caller that turned autoRead off (during detection or a
///   handshake) turns it back on once both handlers are in place;
/// - passes a half-close across: when its channel reports `ChannelEvent.inputClosed`, the partner flushes and
///   half-closes its output (`close(mode: .output)`), so a TCP FIN crosses the splice. This needs
///   `ChannelOptions.allowRemoteHalfClosure` on both channels; without it an end of input is `channelInactive`;
/// - closes its channel fully once it has lost both directions, and, when the partner's channel goes inactive, once
///   the writes already forwarded into it have completed, so a last response is not cut off (NIOPosix turns a close
///   of a channel whose input is already shut, even `close(mode: .output)`, into a full close that drops unwritten
///   bytes, so the handler waits for its writes first);
/// - closes both channels at once on `errorCaught`; errors are consumed, not forwarded.
///
/// To close after pending writes, each forwarded read is written with a promise (one small allocation per read) and
/// the last one is kept. A graceful close waits for those writes, and a peer that never reads keeps it waiting: pair
/// the splice with an idle timeout. Errors are not reported to the ``SpliceObserver``: put a handler before the glue
/// handler to count them. All methods run on the channels' event loop and never block.
public final class GlueHandler {
    /// Which side of the pair this handler is on, for the observer.
    private let side: SpliceSide

    /// Shared with the partner; released when this handler leaves its pipeline.
    private var observer: (any SpliceObserver)?

    /// The other handler; released when this handler leaves its pipeline, which breaks the reference cycle.
    private var partner: GlueHandler?

    private var context: ChannelHandlerContext?

    /// A `read()` is being held back until the partner's channel is writable.
    private var isReadPending = false

    /// The last write forwarded into this channel, for closing after pending writes.
    private var lastWrite: EventLoopFuture<Void>?

    /// This side has gone inactive or left its pipeline, for ``SpliceObserver/closed()``.
    private var isDone = false

    private var stateMachine = StateMachine()

    private init(side: SpliceSide, observer: (any SpliceObserver)?) {
        self.side = side
        self.observer = observer
    }

    /// Makes two handlers that forward to each other.
    ///
    /// - Parameter observer: Receives byte counts and the end of the splice; `nil` for none.
    /// - Returns: The handler for the ``SpliceSide/first`` channel and the one for the ``SpliceSide/second``.
    public static func matchedPair(observer: (any SpliceObserver)? = nil) -> (GlueHandler, GlueHandler) {
        let first = GlueHandler(side: .first, observer: observer)
        let second = GlueHandler(side: .second, observer: observer)
        first.partner = second
        second.partner = first
        return (first, second)
    }
}

// MARK: - Calls from the partner

extension GlueHandler {
    /// Whether this channel can take more writes now.
    private var isWritable: Bool {
        self.context?.channel.isWritable ?? false
    }

    private func partnerWrite(_ data: NIOAny) {
        guard let context = self.context else {
            return
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.write(data, promise: promise)
        self.lastWrite = promise.futureResult
    }

    private func partnerFlush() {
        self.context?.flush()
    }

    private func partnerInputClosed() {
        guard let context = self.context else {
            return
        }
        switch self.stateMachine.partnerInputClosed() {
        case .closeOutput:
            context.flush()
            let promise = context.eventLoop.makePromise(of: Void.self)
            context.close(mode: .output, promise: promise)
            promise.futureResult.assumeIsolated().whenComplete { result in
                let succeeded: Bool
                switch result {
                case .success:
                    succeeded = true
                case .failure:
                    succeeded = false
                }
                self.perform(self.stateMachine.outputClosed(succeeded: succeeded))
            }
        case .closeAfterPendingWrites:
            self.perform(.closeAfterPendingWrites)
        case .none:
            break
        }
    }

    private func partnerInactive() {
        self.perform(self.stateMachine.partnerInactive())
    }

    private func partnerErrorCaught() {
        self.perform(self.stateMachine.errorCaught())
    }

    private func partnerBecameWritable() {
        guard self.isReadPending, let context = self.context else {
            return
        }
        self.isReadPending = false
        context.read()
    }

    private func perform(_ action: StateMachine.CloseAction) {
        guard let context = self.context else {
            return
        }
        switch action {
        case .close:
            context.close(promise: nil)
        case .closeAfterPendingWrites:
            context.flush()
            if let lastWrite = self.lastWrite {
                lastWrite.assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
            } else {
                context.close(promise: nil)
            }
        case .none:
            break
        }
    }

    /// Marks this side done and tells the observer once both sides are.
    private func markDone() {
        guard !self.isDone else {
            return
        }
        self.isDone = true
        if self.partner?.isDone == true {
            self.observer?.closed()
        }
    }
}

// MARK: - ChannelDuplexHandler

extension GlueHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let partnerContext = self.partner?.context {
            precondition(
                partnerContext.eventLoop === context.eventLoop,
                "both channels of a GlueHandler pair must be on the same event loop"
            )
            // A read either side held back while the other wasn't there yet.
            if self.isWritable {
                self.partner?.partnerBecameWritable()
            }
            if self.partner?.isWritable == true {
                self.partnerBecameWritable()
            }
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.markDone()
        self.context = nil
        self.partner = nil
        self.observer = nil
        self.lastWrite = nil
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.observer?.bytesRead(GlueHandler.unwrapInboundIn(data).readableBytes, side: self.side)
        self.partner?.partnerWrite(data)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        self.partner?.partnerFlush()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event as? ChannelEvent == .inputClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch self.stateMachine.inputClosed() {
        case .closePartnerOutput:
            self.partner?.partnerInputClosed()
        case .closePartnerOutputAndClose:
            self.partner?.partnerInputClosed()
            self.perform(.close)
        case .none:
            break
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.stateMachine.channelInactive()
        self.markDone()
        self.partner?.partnerInactive()
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.perform(self.stateMachine.errorCaught())
        self.partner?.partnerErrorCaught()
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.partner?.partnerBecameWritable()
        }
        context.fireChannelWritabilityChanged()
    }

    public func read(context: ChannelHandlerContext) {
        if self.partner?.isWritable == true {
            context.read()
        } else {
            self.isReadPending = true
        }
    }
}

@available(*, unavailable)
extension GlueHandler: Sendable {}
