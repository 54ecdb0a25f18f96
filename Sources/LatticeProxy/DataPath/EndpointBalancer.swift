import Synchronization

/// Chooses among an upstream's endpoints by the power of two choices: two picked at random, the one with fewer
/// requests or connections in flight wins. Loads are atomics, so connections on any event loop share them.
final class EndpointBalancer: Sendable {
    /// One endpoint's in-flight count (a class: `Atomic` cannot live in an array).
    private final class Load: Sendable {
        let value = Atomic<Int>(0)
    }

    private let loads: [Load]

    init(count: Int) {
        self.loads = (0..<count).map { _ in Load() }
    }

    var count: Int { self.loads.count }

    /// The index of the endpoint to use next (not yet counted: call ``begin(_:)``).
    func pick() -> Int {
        let count = self.loads.count
        if count == 1 { return 0 }
        var generator = SystemRandomNumberGenerator()
        let first = Int.random(in: 0..<count, using: &generator)
        var second = Int.random(in: 0..<(count - 1), using: &generator)
        if second >= first { second += 1 }
        let a = self.loads[first].value.load(ordering: .relaxed)
        let b = self.loads[second].value.load(ordering: .relaxed)
        return a <= b ? first : second
    }

    /// Picks an endpoint other than `excluded` when there is one (for a retry).
    func pick(excluding excluded: Int) -> Int {
        guard self.loads.count > 1 else { return excluded }
        var index = self.pick()
        if index == excluded { index = (excluded + 1) % self.loads.count }
        return index
    }

    func begin(_ index: Int) { self.loads[index].value.wrappingAdd(1, ordering: .relaxed) }
    func end(_ index: Int) { self.loads[index].value.wrappingSubtract(1, ordering: .relaxed) }
    func load(_ index: Int) -> Int { self.loads[index].value.load(ordering: .relaxed) }
}
