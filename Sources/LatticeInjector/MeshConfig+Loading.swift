import Yams

/// A mesh configuration document that can't be used: names the source and what is wrong.
public struct MeshConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    public var source: String
    public var reason: String
    public var description: String { "\(self.source): \(self.reason)" }

    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }
}

extension MeshConfig {
    /// The label of ConfigMaps (in any namespace) whose `config.yaml` adds an `inject:` selection for that
    /// namespace only (what the `akko-mtls` chart renders).
    public static let selectionLabel = "lattice.io/mesh-config"

    /// Reads a `config.yaml` document (YAML or JSON); an empty document is the defaults.
    public static func parse(_ text: String, source: String) throws(MeshConfigError) -> MeshConfig {
        if text.allSatisfy(\.isWhitespace) { return MeshConfig() }
        do {
            return try YAMLDecoder().decode(MeshConfig.self, from: text)
        } catch let error as DecodingError {
            throw MeshConfigError(source: source, reason: Self.explain(error))
        } catch {
            throw MeshConfigError(source: source, reason: "not YAML: \(error)")
        }
    }

    /// This configuration plus the `inject:` selections of labelled ConfigMaps. A selection only ever opts in pods of
    /// its own ConfigMap's namespace: namespace entries naming another namespace are ignored, and service selectors
    /// are scoped to it.
    public func adding(selections: [(namespace: String, selection: InjectionSelection)]) -> MeshConfig {
        var merged = self
        for (namespace, selection) in selections {
            if selection.namespaces.contains(namespace), !merged.inject.namespaces.contains(namespace) {
                merged.inject.namespaces.append(namespace)
            }
            for var service in selection.services {
                service.namespace = namespace
                if !merged.inject.services.contains(service) { merged.inject.services.append(service) }
            }
        }
        return merged
    }

    private static func explain(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "the document" : keys.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context): return "\(path(context)) must be \(type) (\(context.debugDescription))"
        case .valueNotFound(let type, let context): return "\(path(context)) must be \(type), not null"
        case .keyNotFound(let key, let context): return "\(path(context)) needs the key '\(key.stringValue)'"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
