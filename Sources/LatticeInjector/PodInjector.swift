import LatticeModel

/// Decides whether a pod gets Lattice's sidecar and, if so, writes the JSON Patch that adds it. Pure and cheap: the
/// webhook calls it for every pod creation, so everything that depends only on the mesh config is built once in
/// ``init(config:nativeSidecar:)`` and each call parses the pod once and builds the patch in one pass.
///
/// The rules, in order (the first that applies decides):
/// 1. an object that is not a Pod (`kind` set to something else) is skipped;
/// 2. a pod with `lattice-proxy` (or `lattice-init`) already, in `containers` or `initContainers`, is skipped, so
///    re-admission is a no-op;
/// 3. a pod with a Linkerd proxy (`linkerd-proxy`, or `linkerd.io/proxy-version`) is skipped: never two meshes;
/// 4. selection: the pod's `lattice.io/inject` (`enabled`/`disabled`) wins; else the namespace's; else the mesh config's
///    `inject.namespaces` (Strategy A); else an `inject.services` selector matching the pod's labels (Strategy B);
///    `linkerd.io/inject` counts as the same annotation;
/// 5. a pod on the host's network is skipped (lattice-init would rewrite the node's iptables);
/// 6. a namespace enforcing the `baseline` or `restricted` Pod Security level is reported, not injected: its admission
///    would refuse lattice-init's NET_ADMIN;
/// 7. an unusable `config.*` annotation skips the pod with a reason naming it.
///
/// `automountServiceAccountToken: false` does not stop injection: the proxy reads its own projected token (audience
/// `identity.lattice.io`), which Kubernetes provides regardless.
public struct PodInjector: Sendable {
    public let config: MeshConfig
    public let nativeSidecar: Bool
    let template: SidecarTemplate

    /// How selection works for a call.
    public enum Selection: Sendable, Hashable {
        /// The webhook's rules (annotations, then the mesh config's namespaces and service selectors).
        case admission
        /// `lattice inject`: inject unless the pod itself says `disabled` (namespace and mesh config are not known there).
        case requested
    }

    /// - Parameters:
    ///   - config: the mesh config (images, ports, UID, resources, controller, opt-in selections).
    ///   - nativeSidecar: true to add the proxy as a native sidecar (Kubernetes ≥ 1.29); resolve
    ///     ``MeshConfig/NativeSidecar/auto`` with ``MeshConfig/NativeSidecar/isNative(clusterSupportsNativeSidecars:)``.
    public init(config: MeshConfig, nativeSidecar: Bool) {
        self.config = config
        self.nativeSidecar = nativeSidecar
        self.template = SidecarTemplate(config: config, native: nativeSidecar)
    }

    /// The patch for one admitted pod.
    ///
    /// - Parameters:
    ///   - pod: the Pod object's JSON exactly as in AdmissionReview `request.object`.
    ///   - namespace: the namespace it is created in (`request.namespace`), with its annotations and labels.
    /// - Returns: the RFC 6902 patch (nil when the pod is skipped) and the report.
    /// - Throws: ``InjectionError`` when the bytes are not a pod (not JSON, fields of the wrong type, no containers).
    public func admissionPatch(forPodJSON pod: [UInt8], namespace: NamespaceContext) throws(InjectionError) -> PodAdmission {
        let value: JSONValue
        do {
            value = try JSONValue.parse(pod)
        } catch {
            throw InjectionError(.notJSON, "the pod is \(error)")
        }
        let result = try self.injection(forPod: value, namespace: namespace, selection: .admission)
        return PodAdmission(patch: result.patch.isEmpty ? nil : result.patch.serialized(), report: result.report)
    }

    /// The patch (relative to the pod, or to a pod template's root) and the report for a parsed pod.
    public func injection(
        forPod pod: JSONValue,
        namespace: NamespaceContext,
        selection: Selection = .admission
    ) throws(InjectionError) -> (patch: JSONPatch, report: InjectionReport) {
        let view = try PodView(pod)
        let workload = "pod/" + (view.name ?? view.generateName ?? "(unnamed)")
        let lookup = AnnotationLookup(workload: view.annotations, namespace: namespace.annotations)
        let warnings = lookup.conflicts.map(\.description)
        func skip(_ code: InjectionReason.Code, _ message: String) -> (JSONPatch, InjectionReport) {
            (JSONPatch(), InjectionReport(injected: false, reason: .init(code: code, message: message), workload: workload, warnings: warnings))
        }

        if let kind = view.kind, kind != "Pod" {
            return skip(.unsupportedKind, "a \(kind) is not a Pod; only Pods are injected (the webhook must be registered for pods only)")
        }
        if view.hasContainer(named: SidecarNames.proxyContainer) {
            return skip(.alreadyInjected, "the pod already has a \(SidecarNames.proxyContainer) container; nothing to do")
        }
        if view.hasContainer(named: SidecarNames.initContainer) {
            return skip(
                .alreadyInjected,
                "the pod has a \(SidecarNames.initContainer) container but no \(SidecarNames.proxyContainer): a partial injection; run lattice uninject on its manifest (or remove that container) and recreate it"
            )
        }
        if view.hasContainer(named: SidecarNames.linkerdProxyContainer)
            || view.annotations[SidecarNames.linkerdProxyVersionAnnotation] != nil
        {
            return skip(
                .linkerdProxyPresent,
                "the pod already carries a Linkerd proxy; remove Linkerd's injection (linkerd.io/inject) before Lattice's, so the two meshes never both inject"
            )
        }
        let chosen: InjectionReason
        switch self.select(view: view, namespace: namespace, selection: selection) {
        case .success(let reason): chosen = reason
        case .failure(let skipped): return skip(skipped.reason.code, skipped.reason.message)
        }
        if view.usesHostNetwork {
            return skip(
                .hostNetwork,
                "the pod uses hostNetwork, where lattice-init would rewrite the node's own iptables; set lattice.io/inject: disabled on it, or run it off the host network to mesh it"
            )
        }
        if selection == .admission, let level = namespace.labels[SidecarNames.podSecurityEnforceLabel],
            level == "baseline" || level == "restricted"
        {
            return skip(
                .podSecurityForbidsNetAdmin,
                "namespace \(namespace.name) enforces Pod Security level '\(level)', which forbids lattice-init's NET_ADMIN and NET_RAW; label it \(SidecarNames.podSecurityEnforceLabel)=privileged to mesh its pods, or opt this pod out with lattice.io/inject: disabled"
            )
        }
        let settings: PodSettings
        do {
            settings = try PodSettings(lookup: lookup, pod: view, config: self.config)
        } catch {
            return skip(.invalidAnnotation, error.message)
        }
        let patch = self.patch(for: view, settings: settings, namespace: namespace)
        return (patch, InjectionReport(injected: true, reason: chosen, workload: workload, warnings: warnings))
    }

    private struct Skipped: Error { let reason: InjectionReason }

    private func select(view: PodView, namespace: NamespaceContext, selection: Selection) -> Result<InjectionReason, Skipped> {
        let podValue = AnnotationLookup(workload: view.annotations, namespace: [:]).value(.inject)
        let spelled = view.annotations[AnnotationKey.inject.rawValue] != nil ? AnnotationKey.inject.rawValue : AnnotationKey.inject.linkerdAlias
        switch podValue {
        case "enabled"?:
            return .success(.init(code: .podAnnotation, message: "\(spelled)=enabled on the pod"))
        case "disabled"?:
            return .failure(Skipped(reason: .init(
                code: .injectionDisabled,
                message: "the pod sets \(spelled)=disabled; remove it (or set enabled) to mesh the pod"
            )))
        case let other?:
            return .failure(Skipped(reason: .init(
                code: .invalidAnnotation,
                message: "annotation \(spelled)='\(other)' is neither enabled nor disabled; set one of them"
            )))
        case nil: break
        }
        if selection == .requested {
            return .success(.init(code: .requested, message: "requested by lattice inject"))
        }
        let namespaceValue = AnnotationLookup(workload: namespace.annotations, namespace: [:]).value(.inject)
        let nsSpelled = namespace.annotations[AnnotationKey.inject.rawValue] != nil ? AnnotationKey.inject.rawValue : AnnotationKey.inject.linkerdAlias
        switch namespaceValue {
        case "enabled"?:
            return .success(.init(code: .namespaceAnnotation, message: "\(nsSpelled)=enabled on namespace \(namespace.name)"))
        case "disabled"?:
            return .failure(Skipped(reason: .init(
                code: .injectionDisabled,
                message: "namespace \(namespace.name) sets \(nsSpelled)=disabled; annotate the pod with lattice.io/inject: enabled to mesh it anyway"
            )))
        case let other?:
            return .failure(Skipped(reason: .init(
                code: .invalidAnnotation,
                message: "annotation \(nsSpelled)='\(other)' on namespace \(namespace.name) is neither enabled nor disabled; set one of them"
            )))
        case nil: break
        }
        if self.config.inject.namespaces.contains(namespace.name) {
            return .success(.init(code: .namespaceSelected, message: "namespace \(namespace.name) is in the mesh config's inject.namespaces"))
        }
        for service in self.config.inject.services where service.namespace == nil || service.namespace == namespace.name {
            if !service.matchLabels.isEmpty, service.matchLabels.allSatisfy({ view.labels[$0.key] == $0.value }) {
                return .success(.init(code: .serviceSelected, message: "the mesh config's inject.services selects it as service \(service.name)"))
            }
        }
        return .failure(Skipped(reason: .init(
            code: .notSelected,
            message: "nothing opts it in; annotate the pod or namespace with lattice.io/inject: enabled, or select it in the mesh config (inject.namespaces or inject.services)"
        )))
    }

    /// The operations, relative to the pod's root, each on a path that exists or that the operation creates.
    func patch(for view: PodView, settings: PodSettings, namespace: NamespaceContext) -> JSONPatch {
        var ops: [JSONPatchOperation] = []
        var annotations: [(String, String)] = [
            (SidecarNames.injectStatusAnnotation, SidecarNames.injectStatusInjected),
            (SidecarNames.proxyVersionAnnotation, LatticeVersion.current),
        ]
        if !self.nativeSidecar, view.annotations[SidecarNames.defaultContainerAnnotation] == nil,
            let app = view.containers.first?["name"]?.stringValue
        {
            annotations.append((SidecarNames.defaultContainerAnnotation, app))
        }
        let labels: [(String, String)] = [(SidecarNames.controlPlaneNamespaceLabel, self.config.controller.namespace)]
        func object(_ pairs: [(String, String)]) -> JSONValue {
            .object(JSONObject(pairs.map { JSONObject.Member(key: $0.0, value: .string($0.1)) }))
        }
        if view.metadata == nil {
            ops.append(.add(JSONPointer(["metadata"]), ["annotations": object(annotations), "labels": object(labels)]))
        } else {
            for (field, pairs, exists) in [("annotations", annotations, view.hasAnnotationsObject), ("labels", labels, view.hasLabelsObject)] {
                if exists {
                    for (key, value) in pairs { ops.append(.add(JSONPointer(["metadata", field, key]), .string(value))) }
                } else {
                    ops.append(.add(JSONPointer(["metadata", field]), object(pairs)))
                }
            }
        }

        let initContainer = self.template.initContainer(settings)
        let proxy = self.template.proxyContainer(settings)
        if view.initContainers == nil {
            ops.append(.add(JSONPointer(["spec", "initContainers"]), .array(self.nativeSidecar ? [initContainer, proxy] : [initContainer])))
        } else {
            ops.append(.add(JSONPointer(["spec", "initContainers", "0"]), initContainer))
            if self.nativeSidecar { ops.append(.add(JSONPointer(["spec", "initContainers", "1"]), proxy)) }
        }
        if !self.nativeSidecar {
            ops.append(.add(JSONPointer(["spec", "containers", "0"]), proxy))
        }
        if view.hasVolumes {
            for volume in self.template.volumes { ops.append(.add(JSONPointer(["spec", "volumes", "-"]), volume)) }
        } else {
            ops.append(.add(JSONPointer(["spec", "volumes"]), .array(self.template.volumes)))
        }
        return JSONPatch(ops)
    }
}

extension MeshConfig.NativeSidecar {
    /// Whether the proxy is added as a native sidecar: `true`, `false`, or for `auto` whether the cluster runs
    /// Kubernetes ≥ 1.29 (the controller asks `/version` at start; `lattice inject` takes `--native-sidecar`).
    public func isNative(clusterSupportsNativeSidecars: Bool) -> Bool {
        switch self {
        case .true: true
        case .false: false
        case .auto: clusterSupportsNativeSidecars
        }
    }
}
