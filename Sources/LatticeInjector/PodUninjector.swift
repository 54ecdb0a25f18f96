import LatticeModel

/// Removes what injection adds to a pod (template): the `lattice-init` and `lattice-proxy` containers (classic or
/// native), their volumes, the status annotations and label, `kubectl.kubernetes.io/default-container` where a
/// classic proxy made it name the app, and the `lattice.io/inject: enabled` annotation that `lattice inject` writes. Lists and maps the injection created are removed when they end up empty, so uninjecting
/// an injected object gives the original back.
public enum PodUninjector {
    /// The pod (template) without Lattice's additions, and whether anything was removed.
    public static func uninject(_ pod: JSONValue) -> (pod: JSONValue, changed: Bool) {
        guard case .object(var object) = pod else { return (pod, false) }
        var changed = false
        // A classic proxy first among the containers: injection named the app kubectl's default container.
        let classicProxyFirst = pod.value(at: ["spec", "containers"])?.arrayValue?.first?["name"]?.stringValue == SidecarNames.proxyContainer
        let appContainer = pod.value(at: ["spec", "containers"])?.arrayValue?.dropFirst().first?["name"]
        if case .object(var spec)? = object["spec"] {
            changed = Self.removeNamed("containers", names: [SidecarNames.proxyContainer], from: &spec, dropEmpty: false) || changed
            changed = Self.removeNamed("initContainers", names: [SidecarNames.proxyContainer, SidecarNames.initContainer], from: &spec, dropEmpty: true) || changed
            changed = Self.removeNamed("volumes", names: SidecarNames.volumes, from: &spec, dropEmpty: true) || changed
            object["spec"] = .object(spec)
        }
        if case .object(var metadata)? = object["metadata"] {
            var metaChanged = false
            if case .object(var annotations)? = metadata["annotations"] {
                let before = annotations.count
                annotations[SidecarNames.injectStatusAnnotation] = nil
                annotations[SidecarNames.proxyVersionAnnotation] = nil
                if classicProxyFirst, let app = appContainer, annotations[SidecarNames.defaultContainerAnnotation] == app {
                    annotations[SidecarNames.defaultContainerAnnotation] = nil
                }
                if annotations[AnnotationKey.inject.rawValue] == .string("enabled") {
                    annotations[AnnotationKey.inject.rawValue] = nil
                }
                if annotations.count != before {
                    metaChanged = true
                    metadata["annotations"] = annotations.isEmpty ? nil : .object(annotations)
                }
            }
            if case .object(var labels)? = metadata["labels"], labels[SidecarNames.controlPlaneNamespaceLabel] != nil {
                labels[SidecarNames.controlPlaneNamespaceLabel] = nil
                metaChanged = true
                metadata["labels"] = labels.isEmpty ? nil : .object(labels)
            }
            if metaChanged {
                changed = true
                object["metadata"] = metadata.isEmpty ? nil : .object(metadata)
            }
        }
        return (.object(object), changed)
    }

    /// Removes the items of the list `key` whose `name` is one of `names`; true when any was.
    private static func removeNamed(_ key: String, names: Set<String>, from spec: inout JSONObject, dropEmpty: Bool) -> Bool {
        guard case .array(let items)? = spec[key] else { return false }
        let kept = items.filter { item in
            guard let name = item["name"]?.stringValue else { return true }
            return !names.contains(name)
        }
        guard kept.count != items.count else { return false }
        spec[key] = kept.isEmpty && dropEmpty ? nil : .array(kept)
        return true
    }
}
