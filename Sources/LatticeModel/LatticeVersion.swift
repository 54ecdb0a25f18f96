/// The version every Lattice component reports (`lattice_build_info{version}`), which `lattice check` compares: a
/// proxy older than its controller is flagged.
public enum LatticeVersion {
    public static let current = "0.4.0"

    /// Orders dotted versions numerically (`0.10.0` > `0.9.1`); nil when either is not dotted numbers.
    public static func isOlder(_ a: String, than b: String) -> Bool? {
        let x = a.split(separator: ".").map { Int($0) }
        let y = b.split(separator: ".").map { Int($0) }
        guard !x.contains(nil), !y.contains(nil) else { return nil }
        let xs = x.compactMap { $0 }
        let ys = y.compactMap { $0 }
        for i in 0..<max(xs.count, ys.count) {
            let l = i < xs.count ? xs[i] : 0
            let r = i < ys.count ? ys[i] : 0
            if l != r { return l < r }
        }
        return false
    }
}
