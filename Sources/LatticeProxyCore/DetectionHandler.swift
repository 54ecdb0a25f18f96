import NIOCore

/// Holds back the first bytes of an inbound connection until ``ProtocolDetector`` can tell its protocol, then hands
/// the connection over.
///
/// Add it first on the plaintext side of an accepted channel (before any TLS handler). It buffers what it reads and
/// forwards nothing. When the protocol is decided it calls `completion` on the event loop with the protocol, the
/// buffered bytes and its own context, then removes itself. The completion runs before any further read reaches the
/// pipeline; it typically adds the handlers for the protocol after this one (for example with
/// `context.pipeline.syncOperations.addHandlers(_:)`) and replays the bytes through the context:
/// `context.fireChannelRead(NIOAny(bytes))` followed by `context.fireChannelReadComplete()`. The context is still in
/// the pipeline while the completion runs, so events fired through it reach the handlers after it.
///
/// The decision comes from the first of:
/// - ``ProtocolDetector/detect(_:)`` returning ``DetectionResult/detected(_:)`` after a read;
/// - the detection timeout: ``DetectedProtocol/opaque`` with whatever was buffered, possibly nothing (a client that
///   waits for the server to speak first);
/// - the end of input (`ChannelEvent.inputClosed`, which needs `ChannelOptions.allowRemoteHalfClosure`) with bytes
///   buffered: the detector's answer, or ``DetectedProtocol/opaque`` if it still wanted more. The `inputClosed` event
///   is passed on after the completion, so the new handlers see it after the replayed bytes.
///
/// An end of input before any byte closes the channel without calling the completion, and a channel that goes
/// inactive while detecting never calls it either: there is nothing to proxy. Callers clean up on the channel's
/// `closeFuture`, as for any connection.
///
/// While it needs bytes the handler calls `read()` itself (when it starts and after each read burst), so it works
/// with autoRead off; after the hand-over, reading is the new handlers' business again. All methods, the
/// completion and the timeout run on the channel's event loop; the completion must not block.
public final class DetectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    /// Called once with the protocol, the bytes read so far (to be replayed) and this handler's context.
    public typealias Completion = (DetectedProtocol, ByteBuffer, ChannelHandlerContext) -> Void

    private let timeout: TimeAmount
    private let completion: Completion
    private var stateMachine = StateMachine()
    private var scheduledTimeout: Scheduled<Void>?

    /// Creates a detection handler.
    ///
    /// - Parameters:
    ///   - timeout: How long to wait for the client's first bytes to decide before treating the connection as opaque,
    ///     counted from when the channel is active (or the handler is added to an active channel).
    ///   - completion: Called on the event loop, at most once, when the protocol is decided; see the type's
    ///     discussion.
    public init(timeout: TimeAmount, completion: @escaping Completion) {
        self.timeout = timeout
        self.completion = completion
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            self.start(context: context)
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.cancelTimeout()
    }

    public func channelActive(context: ChannelHandlerContext) {
        self.start(context: context)
        context.fireChannelActive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.stateMachine.channelRead(DetectionHandler.unwrapInboundIn(data)) {
        case .complete(let detected, let bytes):
            self.complete(context: context, detected: detected, bytes: bytes)
        case .wait:
            break
        case .forward:
            context.fireChannelRead(data)
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        switch self.stateMachine.channelReadComplete() {
        case .read:
            context.read()
        case .forward:
            context.fireChannelReadComplete()
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event as? ChannelEvent == .inputClosed else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        switch self.stateMachine.inputClosed() {
        case .complete(let detected, let bytes):
            self.cancelTimeout()
            self.completion(detected, bytes, context)
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        case .close:
            self.cancelTimeout()
            context.close(promise: nil)
        case .forward:
            context.fireUserInboundEventTriggered(event)
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        switch self.stateMachine.channelInactive() {
        case .cancelTimeout:
            self.cancelTimeout()
        case .none:
            break
        }
        context.fireChannelInactive()
    }

    private func start(context: ChannelHandlerContext) {
        switch self.stateMachine.start() {
        case .scheduleTimeoutAndRead:
            self.scheduledTimeout = context.eventLoop.assumeIsolated().scheduleTask(in: self.timeout) {
                self.timeoutFired(context: context)
            }
            context.read()
        case .none:
            break
        }
    }

    private func timeoutFired(context: ChannelHandlerContext) {
        self.scheduledTimeout = nil
        switch self.stateMachine.timeout() {
        case .complete(let detected, let bytes):
            self.complete(context: context, detected: detected, bytes: bytes)
        case .none:
            break
        }
    }

    private func complete(context: ChannelHandlerContext, detected: DetectedProtocol, bytes: ByteBuffer) {
        self.cancelTimeout()
        self.completion(detected, bytes, context)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func cancelTimeout() {
        self.scheduledTimeout?.cancel()
        self.scheduledTimeout = nil
    }
}

@available(*, unavailable)
extension DetectionHandler: Sendable {}
