import NIOCore

/// The two timeouts of a client's HTTP/1 connection, on one lazily re-armed timer:
/// - **header read**: once the first bytes of a request arrive, its headers must be complete within `headerTimeout`;
///   a client that trickles them (slowloris) is closed without an answer, counted as `header_read_timeout`;
/// - **idle**: a keep-alive connection with no request in flight for `idleTimeout` is closed (a request in flight to
///   a slow upstream is never cut by it). An exchange is done when its response's end is queued, not written: if the
///   deadline finds response bytes still waiting to be written to a slow reader, the idle clock starts again as long
///   as the reader took some since the last look; one that took nothing for a whole `idleTimeout` is closed,
///   counted as `slow_reader`;
/// - **stalled reader**: a response in flight to a client that stopped reading (the connection stays unwritable,
///   back-pressure holds the upstream) is judged the same way, from when the connection became unwritable, so a
///   client cannot hold a connection and its upstream forever by not reading.
///
/// Sits before the HTTP codec and sees raw bytes. ``HTTPProxyHandler`` calls ``exchangeStarted()`` when a request's
/// head is parsed and ``exchangeDone()`` when the exchange ends. Neither schedules anything: the one timer fires at
/// the earliest deadline it knew of and, finding that activity has moved the deadline, re-arms for the new one, so a
/// busy connection costs a timestamp per request and a timer wake-up per idle period, not a timer per request.
final class HTTP1ConnectionTimeouts: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let headerTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let onHeaderTimeout: () -> Void
    /// When the first bytes of the request not yet parsed arrived; nil while no request is being read.
    private var headStarted: NIODeadline?
    private var inFlight = false
    /// When the connection last finished an exchange (or opened).
    private var lastDone = NIODeadline.now()
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var context: ChannelHandlerContext?

    private let onSlowReader: () -> Void
    /// Whether the client takes the response bytes still queued for it, judged at each deadline that finds some.
    private var progress = QueuedWriteProgress()
    /// When the connection became unwritable (a response in flight faster than the client reads); nil while writable.
    private var stalledSince: NIODeadline?
    /// This handler closed the connection on a reader that stopped taking the response (counted once, here).
    private(set) var closedSlowReader = false

    init(
        headerTimeout: TimeAmount,
        idleTimeout: TimeAmount,
        onHeaderTimeout: @escaping () -> Void,
        onSlowReader: @escaping () -> Void
    ) {
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.onHeaderTimeout = onHeaderTimeout
        self.onSlowReader = onSlowReader
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.lastDone = .now()
        self.arm(context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.stop()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !self.inFlight && self.headStarted == nil {
            self.headStarted = .now()
            self.arm(context.eventLoop)
        }
        context.fireChannelRead(data)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            self.stalledSince = nil
            self.progress.reset()
        } else if self.stalledSince == nil {
            self.stalledSince = .now()
            self.arm(context.eventLoop)
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.stop()
        context.fireChannelInactive()
    }

    /// A request's head was parsed: its header deadline is off, and the connection is busy until ``exchangeDone()``.
    func exchangeStarted() {
        self.headStarted = nil
        self.inFlight = true
    }

    /// The exchange ended: the idle clock starts, and the next request's first bytes start a header deadline.
    func exchangeDone() {
        self.inFlight = false
        self.lastDone = .now()
        self.progress.reset()
        if self.timer == nil, let context = self.context { self.arm(context.eventLoop) }
    }

    /// The deadline that matters now: the request being read, else the stalled reader's (in flight) or the idle one.
    private var deadline: NIODeadline? {
        if let started = self.headStarted { return started + self.headerTimeout }
        if self.inFlight { return self.stalledSince.map { $0 + self.idleTimeout } }
        return self.lastDone + self.idleTimeout
    }

    /// Makes sure the timer fires no later than the current deadline (an earlier firing re-arms itself).
    private func arm(_ loop: any EventLoop) {
        guard let deadline = self.deadline else { return }
        if let scheduled = self.timerDeadline, scheduled <= deadline { return }
        self.timer?.cancel()
        self.timerDeadline = deadline
        self.timer = loop.assumeIsolated().scheduleTask(deadline: deadline) { self.fired(loop) }
    }

    private func fired(_ loop: any EventLoop) {
        self.timer = nil
        self.timerDeadline = nil
        guard let context = self.context, let deadline = self.deadline else { return }
        if NIODeadline.now() < deadline {
            self.arm(loop)
            return
        }
        if self.headStarted != nil {
            self.onHeaderTimeout()
        } else {
            switch self.progress.look(at: context.channel) {
            case .reading:
                // Idle only once written: a reader still taking the response gets another period.
                if self.inFlight { self.stalledSince = .now() } else { self.lastDone = .now() }
                self.arm(loop)
                return
            case .stalled:
                self.closedSlowReader = true
                self.onSlowReader()
            case .nothingQueued:
                if self.inFlight {
                    // A stall only while the channel stays unwritable, and then from now.
                    self.stalledSince = context.channel.isWritable ? nil : .now()
                    self.arm(loop)
                    return
                }
            }
        }
        self.stop()
        context.close(promise: nil)
    }

    private func stop() {
        self.timer?.cancel()
        self.timer = nil
        self.timerDeadline = nil
    }
}

@available(*, unavailable)
extension HTTP1ConnectionTimeouts: Sendable {}
