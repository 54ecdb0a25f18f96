import LatticeInjector

/// Opt-in by configuration for one application namespace: Strategy A (`injectNamespace: true`, every pod of the
/// namespace) or Strategy B (per service, `global.serviceMesh.inject.<svc>: true` or the runbook's
/// `global.serviceMesh.linkerdInject.<svc>: true`). Turned into the `inject:` section of the mesh config.
public struct InjectionValues: Sendable, Equatable {
    public struct Flag: Sendable, Equatable {
        public let name: String
        public let isOn: Bool
        public init(name: String, isOn: Bool) {
            self.name = name
            self.isOn = isOn
        }
    }

    public var injectNamespace: Bool
    /// The application namespace the flags apply to.
    public var namespace: String
    /// Prefix of the default selector `app.kubernetes.io/name: <release>-<svc>`.
    public var release: String
    /// Per-service selectors replacing the default.
    public var selectors: [String: [String: String]]
    /// `global.serviceMesh.inject`.
    public var inject: [Flag]
    /// `global.serviceMesh.linkerdInject`.
    public var linkerdInject: [Flag]

    /// The label whose value the default selector matches.
    public static let nameLabel = "app.kubernetes.io/name"

    /// Reads the flags. `targetPrefix` is where `namespace`, `release` and `selectors` sit (`injectTarget.` in the
    /// control-plane values); with `namespace`/`release` given (the akko-mtls chart: the Helm release's), those win.
    static func decode(
        _ r: ValueReader,
        targetPrefix: String,
        namespace: String? = nil,
        release: String? = nil
    ) throws(ManifestsError) -> InjectionValues {
        var namespace = namespace ?? ""
        if namespace.isEmpty { namespace = try r.string("\(targetPrefix)namespace") }
        var release = release ?? ""
        if release.isEmpty { release = try r.string("\(targetPrefix)release") }
        var selectors: [String: [String: String]] = [:]
        let selectorsPath = "\(targetPrefix)selectors"
        for (service, _) in try r.tree(selectorsPath, object: true).members ?? [] {
            selectors[service] = try r.stringMap("\(selectorsPath).\(service)")
        }
        return InjectionValues(
            injectNamespace: try r.bool("injectNamespace"),
            namespace: namespace,
            release: release.isEmpty ? namespace : release,
            selectors: selectors,
            inject: try r.flags("global.serviceMesh.inject").map { Flag(name: $0.name, isOn: $0.isOn) },
            linkerdInject: try r.flags("global.serviceMesh.linkerdInject").map { Flag(name: $0.name, isOn: $0.isOn) }
        )
    }

    /// The flags with their full keys, `inject` first, each sorted by service name.
    public var flags: [InjectionStrategyCheck.Flag] {
        let inject = self.inject.sorted { $0.name < $1.name }.map {
            InjectionStrategyCheck.Flag(key: "global.serviceMesh.inject.\($0.name)", isOn: $0.isOn)
        }
        let linkerd = self.linkerdInject.sorted { $0.name < $1.name }.map {
            InjectionStrategyCheck.Flag(key: "global.serviceMesh.linkerdInject.\($0.name)", isOn: $0.isOn)
        }
        return inject + linkerd
    }

    /// The services switched on under either spelling, sorted.
    public var enabledServices: [String] {
        Set((self.inject + self.linkerdInject).filter(\.isOn).map(\.name)).sorted()
    }

    /// The mesh config's `inject:` section.
    ///
    /// - Parameter namespaceKey: how the values spell the namespace, for the error when it is missing.
    /// - Throws: ``ManifestsError/Code/conflictingStrategies`` for Strategy A and B together, or
    ///   ``ManifestsError/Code/invalidValue`` when a flag is on but no namespace is named.
    public func selection(namespaceKey: String) throws(ManifestsError) -> MeshConfig.InjectionSelection {
        try InjectionStrategyCheck.check(injectNamespace: self.injectNamespace, flags: self.flags)
        let services = self.enabledServices
        guard self.injectNamespace || !services.isEmpty else { return MeshConfig.InjectionSelection() }
        guard !self.namespace.isEmpty else {
            throw ManifestsError(
                .invalidValue,
                "\(namespaceKey) is empty: name the application namespace the injection flags apply to "
                    + "(e.g. --set \(namespaceKey)=akko)"
            )
        }
        if self.injectNamespace {
            return MeshConfig.InjectionSelection(namespaces: [self.namespace])
        }
        return MeshConfig.InjectionSelection(
            services: services.map { service in
                MeshConfig.ServiceSelector(
                    name: service,
                    namespace: self.namespace,
                    matchLabels: self.selectors[service] ?? [Self.nameLabel: "\(self.release)-\(service)"]
                )
            }
        )
    }
}
