/// The kinds of object that carry a pod (template), and where.
public enum WorkloadKind: String, CaseIterable, Sendable, Hashable {
    case pod = "Pod"
    case deployment = "Deployment"
    case statefulSet = "StatefulSet"
    case daemonSet = "DaemonSet"
    case job = "Job"
    case cronJob = "CronJob"
    case replicaSet = "ReplicaSet"

    /// The workload kind an object's `kind` names, or nil for any other kind (a Service, a ConfigMap…).
    public init?(kind: String) {
        self.init(rawValue: kind)
    }

    /// Member names from the object to its pod (template): `[]` for a Pod itself.
    public var podTemplatePath: [String] {
        switch self {
        case .pod: []
        case .deployment, .statefulSet, .daemonSet, .job, .replicaSet: ["spec", "template"]
        case .cronJob: ["spec", "jobTemplate", "spec", "template"]
        }
    }

    /// How `kubectl` names it in output (`deployment/web`).
    public var resourceName: String { self.rawValue.lowercased() }
}

/// Why an object can't give its pod template.
public struct PodTemplateError: Error, Hashable, Sendable, CustomStringConvertible {
    public let description: String
}

extension JSONValue {
    /// The value at `path` (member names), or nil when a level is missing or not an object.
    public func value(at path: [String]) -> JSONValue? {
        var current = self
        for key in path {
            guard let next = current[key] else { return nil }
            current = next
        }
        return current
    }

    /// Replaces the value at `path`, whose parents must exist as objects.
    public mutating func setValue(_ newValue: JSONValue, at path: [String]) {
        guard let key = path.first else {
            self = newValue
            return
        }
        guard case .object(var object) = self, var child = object[key] else { return }
        self = .null  // drop this reference so the child is uniquely owned while it changes
        child.setValue(newValue, at: Array(path.dropFirst()))
        object[key] = child
        self = .object(object)
    }

    /// The workload kind and pod template of a Kubernetes object: nil when the object is no workload; an error when
    /// it is one but has no pod template where its kind keeps it.
    public func podTemplate() throws(PodTemplateError) -> (kind: WorkloadKind, template: JSONValue)? {
        guard let kindName = self["kind"]?.stringValue, let kind = WorkloadKind(kind: kindName) else { return nil }
        let path = kind.podTemplatePath
        guard let template = self.value(at: path), template.objectValue != nil else {
            throw PodTemplateError(description: "\(kindName) has no pod template at \(path.isEmpty ? "its root" : path.joined(separator: "."))")
        }
        guard template["spec"]?.objectValue != nil else {
            throw PodTemplateError(description: "\(kindName)'s pod template has no spec (at \((path + ["spec"]).joined(separator: ".")))")
        }
        return (kind, template)
    }
}
