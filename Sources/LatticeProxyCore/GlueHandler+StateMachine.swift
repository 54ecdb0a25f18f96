extension GlueHandler {
    /// The close bookkeeping of one side of a splice: this side's channel, as seen by its own ``GlueHandler``.
    ///
    /// "Input" is what this channel reads (and the handler forwards to the partner); "output" is what it writes (what
    /// the partner read). The partner's end of input becomes this side's output close, so a TCP FIN crosses the
    /// splice. Once this side has lost both directions, or the partner has gone, the channel is closed fully.
    struct StateMachine {
        private enum OutputState {
            case open
            case closing
            case closed
        }

        private var isInputClosed = false
        private var outputState = OutputState.open

        /// A full close has been started (or the channel has gone inactive): nothing more to decide.
        private var isClosing = false

        /// The channel has gone inactive.
        private var isInactive = false

        /// What to do when this channel's peer has half-closed (`ChannelEvent.inputClosed`).
        enum InputClosedAction: Equatable {
            /// Tell the partner to close its output.
            case closePartnerOutput

            /// Tell the partner to close its output, and close this channel: its output is already closed.
            case closePartnerOutputAndClose

            /// Nothing to do.
            case none
        }

        /// What to do when the partner's input closed, so this channel's output should close.
        enum PartnerInputClosedAction: Equatable {
            /// Flush, then half-close this channel's output; report the result to ``outputClosed(succeeded:)``.
            case closeOutput

            /// This channel's input is already closed as well: close fully once pending writes are written.
            case closeAfterPendingWrites

            /// Nothing to do.
            case none
        }

        /// What to do when the channel should be closed fully.
        enum CloseAction: Equatable {
            /// Close at once.
            case close

            /// Flush, and close once the writes already issued have completed.
            case closeAfterPendingWrites

            /// Nothing to do: already closing.
            case none
        }

        mutating func inputClosed() -> InputClosedAction {
            guard !self.isInputClosed, !self.isClosing else {
                return .none
            }
            self.isInputClosed = true
            switch self.outputState {
            case .open, .closing:
                return .closePartnerOutput
            case .closed:
                self.isClosing = true
                return .closePartnerOutputAndClose
            }
        }

        mutating func partnerInputClosed() -> PartnerInputClosedAction {
            guard !self.isClosing, case .open = self.outputState else {
                return .none
            }
            if self.isInputClosed {
                self.isClosing = true
                return .closeAfterPendingWrites
            }
            self.outputState = .closing
            return .closeOutput
        }

        /// The half-close of this channel's output completed; it failed if the channel can't half-close.
        mutating func outputClosed(succeeded: Bool) -> CloseAction {
            guard case .closing = self.outputState else {
                preconditionFailure("output close completed without being started")
            }
            self.outputState = .closed
            guard !self.isClosing, !succeeded || self.isInputClosed else {
                return .none
            }
            self.isClosing = true
            return .close
        }

        /// The partner's channel has gone inactive: finish writing what it sent, then close.
        mutating func partnerInactive() -> CloseAction {
            guard !self.isClosing else {
                return .none
            }
            self.isClosing = true
            return .closeAfterPendingWrites
        }

        /// An error on either side: close at once, even if a graceful close is waiting for writes.
        mutating func errorCaught() -> CloseAction {
            guard !self.isInactive else {
                return .none
            }
            self.isClosing = true
            return .close
        }

        /// This channel has gone inactive.
        mutating func channelInactive() {
            self.isClosing = true
            self.isInactive = true
        }
    }
}
