/// The rule that Strategy A (namespace-wide) and Strategy B (per service) are never both on: `lattice install` and the
/// chart render call ``validate(injectNamespace:perService:)`` before writing anything.
public enum InjectionStrategyCheck {
    /// The values keys of per-service flags: Lattice's and the runbook's spelling.
    public static let perServicePrefixes = ["global.serviceMesh.inject.", "global.serviceMesh.linkerdInject."]

    /// - Parameters:
    ///   - injectNamespace: the `injectNamespace` value.
    ///   - perService: each per-service flag by its full values key (`global.serviceMesh.inject.trino`,
    ///     `global.serviceMesh.linkerdInject.trino`) and its value.
    /// - Throws: ``InjectionStrategyConflict`` naming every per-service key set to `true` when `injectNamespace` is.
    public static func validate(injectNamespace: Bool, perService: [String: Bool]) throws(InjectionStrategyConflict) {
        guard injectNamespace else { return }
        let conflicting = perService.filter(\.value).keys.sorted()
        guard !conflicting.isEmpty else { return }
        throw InjectionStrategyConflict(perServiceKeys: conflicting)
    }
}

/// `injectNamespace: true` together with per-service flags set to `true`.
public struct InjectionStrategyConflict: Error, Hashable, Sendable, CustomStringConvertible {
    /// The per-service keys set to `true`, sorted.
    public let perServiceKeys: [String]

    public var description: String {
        "injectNamespace=true and per-service injection (\(self.perServiceKeys.map { "\($0)=true" }.joined(separator: ", "))) "
            + "are both on; use one strategy: to move to namespace-wide injection, set those keys to false (or remove them) "
            + "in the same upgrade that sets injectNamespace=true; to stay per service, set injectNamespace=false"
    }
}
