import Testing

@testable import LatticeProxyCore

@Suite struct GlueHandlerStateMachineTests {
    private typealias StateMachine = GlueHandler.StateMachine

    @Test func ownEndOfInputHalfClosesThePartnerOnce() {
        var machine = StateMachine()
        #expect(machine.inputClosed() == .closePartnerOutput)
        #expect(machine.inputClosed() == StateMachine.InputClosedAction.none)
    }

    @Test func outputClosedFirstThenInputClosesFully() {
        var machine = StateMachine()
        #expect(machine.partnerInputClosed() == .closeOutput)
        #expect(machine.outputClosed(succeeded: true) == StateMachine.CloseAction.none)
        #expect(machine.inputClosed() == .closePartnerOutputAndClose)
        #expect(machine.partnerInactive() == StateMachine.CloseAction.none)
    }

    @Test func inputClosedFirstThenPartnerEndOfInputClosesAfterWrites() {
        var machine = StateMachine()
        #expect(machine.inputClosed() == .closePartnerOutput)
        #expect(machine.partnerInputClosed() == .closeAfterPendingWrites)
        #expect(machine.partnerInputClosed() == StateMachine.PartnerInputClosedAction.none)
    }

    @Test func inputClosingWhileOutputClosesWaitsForTheOutput() {
        var machine = StateMachine()
        #expect(machine.partnerInputClosed() == .closeOutput)
        #expect(machine.inputClosed() == .closePartnerOutput)
        #expect(machine.outputClosed(succeeded: true) == .close)
    }

    @Test func failedHalfCloseClosesFully() {
        var machine = StateMachine()
        #expect(machine.partnerInputClosed() == .closeOutput)
        #expect(machine.outputClosed(succeeded: false) == .close)
    }

    @Test func partnerInactiveClosesAfterWritesOnce() {
        var machine = StateMachine()
        #expect(machine.partnerInactive() == .closeAfterPendingWrites)
        #expect(machine.partnerInactive() == StateMachine.CloseAction.none)
        #expect(machine.partnerInputClosed() == StateMachine.PartnerInputClosedAction.none)
    }

    @Test func errorsCloseAtOnceEvenDuringAGracefulClose() {
        var machine = StateMachine()
        #expect(machine.partnerInactive() == .closeAfterPendingWrites)
        #expect(machine.errorCaught() == .close)
        machine.channelInactive()
        #expect(machine.errorCaught() == StateMachine.CloseAction.none)
    }

    @Test func nothingAfterInactive() {
        var machine = StateMachine()
        machine.channelInactive()
        #expect(machine.inputClosed() == StateMachine.InputClosedAction.none)
        #expect(machine.partnerInputClosed() == StateMachine.PartnerInputClosedAction.none)
        #expect(machine.partnerInactive() == StateMachine.CloseAction.none)
    }
}
