import LatticeProxyCore
import Testing

struct TrimPolicyTests {
    /// The policy's answers to the open-connection counts it is fed, in order.
    static func decisions(_ counts: [Int], minimumDrop: Int = 64) -> [Int] {
        var policy = TrimPolicy(minimumDrop: minimumDrop)
        return counts.filter { policy.shouldTrim(open: $0) }
    }

    @Test func steadyTrafficNeverTrims() {
        #expect(Self.decisions([10, 40, 12, 50, 30, 8, 0, 63, 0]) == [])
    }

    @Test func aBurstTrimsOnceItHasFallenToHalfThePeak() {
        // Up to 5 000 held; 3 000 is still more than half; 2 400 is not (trim, and the peak starts over there);
        // 2 000 is a small drop from 2 400; 20 is the rest of the burst closing (trim); 0 is a small drop from 20.
        #expect(Self.decisions([100, 5_000, 3_000, 2_400, 2_000, 20, 0]) == [2_400, 20])
    }

    @Test func aDropSmallerThanTheMinimumNeverTrims() {
        // From a peak of 100: 60 and 63 fewer are below the minimum; 64 fewer (and under half) trims.
        #expect(Self.decisions([100, 40, 37, 36]) == [36])
        #expect(Self.decisions([100, 40, 37, 36], minimumDrop: 100) == [])
    }
}
