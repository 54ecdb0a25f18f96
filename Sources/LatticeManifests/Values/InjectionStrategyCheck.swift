/// "Never both": namespace-wide injection (Strategy A, `injectNamespace: true`) and per-service injection
/// (Strategy B, `global.serviceMesh.inject.<svc>: true` or the runbook's `global.serviceMesh.linkerdInject.<svc>`)
/// must not be on together, since a reader of the values could not tell which pods are meant to be meshed.
///
/// The `akko-mtls` and `lattice-control-plane` charts fail with the same message (their `_helpers.tpl`
/// `lattice.injectionStrategyCheck`); a test renders both and compares.
public enum InjectionStrategyCheck {
    /// One per-service flag as the values spell it.
    public struct Flag: Sendable, Equatable {
        /// The full key, e.g. `global.serviceMesh.linkerdInject.aden`.
        public let key: String
        public let isOn: Bool
        public init(key: String, isOn: Bool) {
            self.key = key
            self.isOn = isOn
        }
    }

    /// - Throws: ``ManifestsError/Code/conflictingStrategies`` naming every per-service flag that is on, and the
    ///   `--set` flags that clear them in the same upgrade.
    public static func check(injectNamespace: Bool, flags: [Flag]) throws(ManifestsError) {
        let on = flags.filter(\.isOn).map(\.key)
        guard injectNamespace, !on.isEmpty else { return }
        throw ManifestsError(.conflictingStrategies, self.message(conflicting: on))
    }

    /// The message both charts and `lattice install` give.
    public static func message(conflicting keys: [String]) -> String {
        "injectNamespace: true and per-service injection (\(keys.joined(separator: ", "))) are both on; "
            + "pick one strategy, never both. To move to namespace-wide injection, turn the per-service flags off "
            + "in the same upgrade: " + keys.map { "--set \($0)=false" }.joined(separator: " ")
    }
}
