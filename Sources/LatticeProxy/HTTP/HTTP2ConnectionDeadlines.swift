import NIOCore
import NIOHTTP2

/// Two deadlines NIO's connection manager lacks on a client's HTTP/2 connection:
/// - **first stream**: the manager starts its idle clock when the connection becomes active, which it was before the
///   proxy knew it was HTTP/2; until a first stream opens, this handler keeps that clock and, at the idle timeout,
///   asks the manager to end the connection as on shutdown;
/// - **close**: the manager sends its second GOAWAY (the last stream opened) only once the client has answered the
///   PING that follows its first, so a client that never answers would hold the connection for good; from that first
///   GOAWAY, this handler closes the connection after `closeTimeout` unless the second one has gone out (the streams
///   it admits then finish at their pace; on shutdown the listener's drain deadline bounds them), counted by
///   `onUnresponsive`. The manager's keep-alive PING going unanswered ends the connection the same way.
///
/// Sits between the codec and the manager, so the manager's GOAWAY frames pass through it.
final class HTTP2ConnectionDeadlines: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// Tells the handler, on the connection's event loop, that a stream opened, and passes every stream event on.
    struct StreamDelegate: NIOHTTP2StreamDelegate {
        fileprivate let deadlines: NIOLoopBound<HTTP2ConnectionDeadlines>
        fileprivate let next: any NIOHTTP2StreamDelegate

        func streamCreated(_ id: HTTP2StreamID, channel: any Channel) {
            self.deadlines.value.streamOpened()
            self.next.streamCreated(id, channel: channel)
        }

        func streamClosed(_ id: HTTP2StreamID, channel: any Channel) {
            self.next.streamClosed(id, channel: channel)
        }
    }

    private let idleTimeout: TimeAmount
    private let closeTimeout: TimeAmount
    /// Counts a connection closed because its client never answered the PING.
    private let onUnresponsive: () -> Void
    private var firstStreamTimer: Scheduled<Void>?
    private var closeTimer: Scheduled<Void>?
    private var opened = false
    /// The manager's second GOAWAY has gone out: the client answered the PING.
    private var pingAnswered = false
    /// This handler closed the connection on a client that never answered (counted here, not by its streams).
    private(set) var closedUnresponsive = false

    init(idleTimeout: TimeAmount, closeTimeout: TimeAmount, onUnresponsive: @escaping () -> Void) {
        self.idleTimeout = idleTimeout
        self.closeTimeout = closeTimeout
        self.onUnresponsive = onUnresponsive
    }

    func streamDelegate(passingOnTo next: any NIOHTTP2StreamDelegate, on eventLoop: any EventLoop) -> StreamDelegate {
        StreamDelegate(deadlines: NIOLoopBound(self, eventLoop: eventLoop), next: next)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard !self.opened else { return }
        self.firstStreamTimer = context.eventLoop.assumeIsolated().scheduleTask(in: self.idleTimeout) {
            self.firstStreamTimer = nil
            context.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.firstStreamTimer?.cancel()
        self.firstStreamTimer = nil
        self.closeTimer?.cancel()
        self.closeTimer = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .goAway(let lastStreamID, _, _) = HTTP2ConnectionDeadlines.unwrapOutboundIn(data).payload {
            if lastStreamID == .maxID {
                if self.closeTimer == nil && !self.pingAnswered {
                    self.closeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: self.closeTimeout) {
                        self.closeTimer = nil
                        self.closedUnresponsive = true
                        self.onUnresponsive()
                        context.close(promise: nil)
                    }
                }
            } else {
                self.pingAnswered = true
                self.closeTimer?.cancel()
                self.closeTimer = nil
            }
        }
        context.write(data, promise: promise)
    }

    private func streamOpened() {
        self.opened = true
        self.firstStreamTimer?.cancel()
        self.firstStreamTimer = nil
    }
}

@available(*, unavailable)
extension HTTP2ConnectionDeadlines: Sendable {}
