import NIOCore

extension DetectionHandler {
    /// The decisions of a ``DetectionHandler``, free of any channel.
    struct StateMachine {
        private enum State {
            /// Not started: the channel is not active yet.
            case idle

            /// Buffering bytes until ``ProtocolDetector`` decides.
            case detecting(ByteBuffer)

            /// Decided, or the connection went away: everything passes through.
            case done
        }

        private var state = State.idle

        /// What to do when the channel is active.
        enum StartAction: Equatable {
            /// Schedule the timeout and ask for the first bytes.
            case scheduleTimeoutAndRead

            /// Already started.
            case none
        }

        /// What to do with bytes read from the channel.
        enum ReadAction: Equatable {
            /// Hand over: cancel the timeout, call the completion with these bytes, leave the pipeline.
            case complete(DetectedProtocol, ByteBuffer)

            /// Keep the bytes and wait for more.
            case wait

            /// Not detecting: pass the read on.
            case forward
        }

        /// What to do when a read burst ends.
        enum ReadCompleteAction: Equatable {
            /// Ask the channel for more bytes.
            case read

            /// Pass the event on.
            case forward
        }

        /// What to do when the peer has half-closed.
        enum InputClosedAction: Equatable {
            /// Hand over what there is, then pass the event on.
            case complete(DetectedProtocol, ByteBuffer)

            /// Nothing was received and nothing will be: cancel the timeout and close.
            case close

            /// Not detecting: pass the event on.
            case forward
        }

        /// What to do when the detection timeout fires.
        enum TimeoutAction: Equatable {
            /// Hand over what there is as opaque.
            case complete(DetectedProtocol, ByteBuffer)

            /// Already done.
            case none
        }

        /// What to do when the channel goes inactive.
        enum InactiveAction: Equatable {
            /// Drop the buffered bytes and cancel the timeout; no completion.
            case cancelTimeout

            /// Nothing to do.
            case none
        }

        mutating func start() -> StartAction {
            guard case .idle = self.state else {
                return .none
            }
            self.state = .detecting(ByteBuffer())
            return .scheduleTimeoutAndRead
        }

        mutating func channelRead(_ bytes: ByteBuffer) -> ReadAction {
            guard case .detecting(var buffered) = self.state else {
                return .forward
            }
            self.state = .done  // Drop the stored reference so appending doesn't copy.
            var bytes = bytes
            if buffered.readableBytes == 0 {
                buffered = bytes
            } else {
                buffered.writeBuffer(&bytes)
            }
            switch ProtocolDetector.detect(buffered) {
            case .detected(let detected):
                return .complete(detected, buffered)
            case .needMoreData:
                self.state = .detecting(buffered)
                return .wait
            }
        }

        func channelReadComplete() -> ReadCompleteAction {
            guard case .detecting = self.state else {
                return .forward
            }
            return .read
        }

        mutating func inputClosed() -> InputClosedAction {
            guard case .detecting(let buffered) = self.state else {
                return .forward
            }
            self.state = .done
            guard buffered.readableBytes > 0 else {
                return .close
            }
            // No more bytes will come: a prefix that could still have become something is opaque.
            switch ProtocolDetector.detect(buffered) {
            case .detected(let detected):
                return .complete(detected, buffered)
            case .needMoreData:
                return .complete(.opaque, buffered)
            }
        }

        mutating func timeout() -> TimeoutAction {
            guard case .detecting(let buffered) = self.state else {
                return .none
            }
            self.state = .done
            return .complete(.opaque, buffered)
        }

        mutating func channelInactive() -> InactiveAction {
            guard case .detecting = self.state else {
                self.state = .done
                return .none
            }
            self.state = .done
            return .cancelTimeout
        }
    }
}
