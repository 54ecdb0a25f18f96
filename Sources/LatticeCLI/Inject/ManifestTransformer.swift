import LatticeInjector
import LatticeModel

/// Rewrites the workloads of a manifest stream (multi-document YAML or JSON; `kind: List` items too) for
/// `lattice inject` and `lattice uninject`, and gives every other document back exactly as written.
///
/// All or nothing: the whole input is transformed in memory and an error stops it before anything is written.
public struct ManifestTransformer: Sendable {
    public enum Operation: Sendable {
        /// Add `lattice.io/inject: enabled` to each pod template (the webhook injects at admission).
        case annotate
        /// Add the sidecar itself, client-side.
        case manual(PodInjector)
        /// Remove what either of the above added.
        case uninject
    }

    public let operation: Operation
    /// An annotator for `.annotate`: it runs the same checks (host network, already injected…) to report skips.
    let checker: PodInjector

    public init(operation: Operation) {
        self.operation = operation
        if case .manual(let injector) = operation {
            self.checker = injector
        } else {
            self.checker = PodInjector(config: MeshConfig(), nativeSidecar: false)
        }
    }

    /// The transformed text and one report line per workload.
    /// - Parameter source: names the input in errors (`-` for stdin, or a file path).
    public func transform(_ text: String, source: String) throws(ManifestError) -> (text: String, reports: [String]) {
        let stream = ManifestStream(splitting: text)
        var out = ""
        var reports: [String] = []
        for (i, document) in stream.documents.enumerated() {
            let index = i + 1
            let parsed: JSONValue?
            do {
                parsed = try JSONValue.parseYAML(document.text)
            } catch {
                throw ManifestError(source: source, document: index, problem: error.description)
            }
            out += document.marker
            guard let value = parsed else {
                out += document.text
                continue
            }
            guard case .object = value else {
                throw ManifestError(source: source, document: index, problem: "the document is \(value.kindName), not a Kubernetes object")
            }
            let (result, changed) = try self.transformObject(value, source: source, index: index, reports: &reports)
            if changed {
                if !document.marker.isEmpty { out += "\n" }
                out += result.yamlText
            } else {
                out += document.text
            }
        }
        return (out, reports)
    }

    private func transformObject(
        _ value: JSONValue,
        source: String,
        index: Int,
        reports: inout [String]
    ) throws(ManifestError) -> (JSONValue, Bool) {
        if value["kind"]?.stringValue == "List", case .array(let items)? = value["items"] {
            var newItems: [JSONValue] = []
            var changed = false
            for (i, item) in items.enumerated() {
                guard case .object = item else {
                    throw ManifestError(source: source, document: index, problem: "List item \(i) is \(item.kindName), not a Kubernetes object")
                }
                let (newItem, itemChanged) = try self.transformWorkload(item, source: source, index: index, item: i, reports: &reports)
                newItems.append(newItem)
                changed = changed || itemChanged
            }
            guard changed else { return (value, false) }
            var result = value
            result.setValue(.array(newItems), at: ["items"])
            return (result, true)
        }
        return try self.transformWorkload(value, source: source, index: index, item: nil, reports: &reports)
    }

    private func transformWorkload(
        _ value: JSONValue,
        source: String,
        index: Int,
        item: Int?,
        reports: inout [String]
    ) throws(ManifestError) -> (JSONValue, Bool) {
        let found: (kind: WorkloadKind, template: JSONValue)?
        do {
            found = try value.podTemplate()
        } catch {
            throw ManifestError(source: source, document: index, item: item, problem: error.description)
        }
        guard case let (kind, template)? = found else { return (value, false) }
        let name = "\(kind.resourceName)/\(value.value(at: ["metadata", "name"])?.stringValue ?? "(unnamed)")"
        let namespace = NamespaceContext(name: value.value(at: ["metadata", "namespace"])?.stringValue ?? "default")
        // A Pod's template is the pod itself: its kind must not make the injector skip it.
        var pod = template
        if kind == .pod, case .object(var object) = pod {
            object["kind"] = nil
            object["apiVersion"] = nil
            pod = .object(object)
        }
        let newTemplate: JSONValue
        switch self.operation {
        case .uninject:
            let (stripped, changed) = PodUninjector.uninject(template)
            reports.append(changed ? "\(name) uninjected" : "\(name) has nothing of Lattice's; unchanged")
            guard changed else { return (value, false) }
            newTemplate = stripped
        case .annotate, .manual:
            let injection: (patch: JSONPatch, report: InjectionReport)
            do {
                injection = try self.checker.injection(forPod: pod, namespace: namespace, selection: .requested)
            } catch {
                throw ManifestError(source: source, document: index, item: item, problem: "\(name): \(error.reason)")
            }
            var report = injection.report
            report.workload = name
            reports.append(report.description)
            guard report.injected else { return (value, false) }
            if case .manual = self.operation {
                do {
                    newTemplate = try injection.patch.apply(to: template)
                } catch {
                    throw ManifestError(source: source, document: index, item: item, problem: "\(name): \(error.description)")
                }
            } else {
                if template.value(at: ["metadata", "annotations", AnnotationKey.inject.rawValue]) == "enabled" {
                    return (value, false)
                }
                newTemplate = Self.annotated(template)
            }
        }
        var result = value
        result.setValue(newTemplate, at: kind.podTemplatePath)
        return (result, true)
    }

    /// The template with `lattice.io/inject: enabled`, creating `metadata` and `annotations` when absent.
    static func annotated(_ template: JSONValue) -> JSONValue {
        guard case .object(var object) = template else { return template }
        var metadata = object["metadata"]?.objectValue ?? JSONObject()
        var annotations = metadata["annotations"]?.objectValue ?? JSONObject()
        annotations[AnnotationKey.inject.rawValue] = "enabled"
        metadata["annotations"] = .object(annotations)
        object["metadata"] = .object(metadata)
        return .object(object)
    }
}

/// A manifest the CLI can't transform: which input, which document (1-based), which List item, and what is wrong.
public struct ManifestError: Error, Hashable, Sendable, CustomStringConvertible {
    public let source: String
    public let document: Int
    public let item: Int?
    public let problem: String

    public init(source: String, document: Int, item: Int? = nil, problem: String) {
        self.source = source
        self.document = document
        self.item = item
        self.problem = problem
    }

    public var description: String {
        let input = self.source == "-" ? "standard input" : self.source
        let itemText = self.item.map { ", List item \($0)" } ?? ""
        return "\(input), document \(self.document)\(itemText): \(self.problem); nothing was written"
    }
}
