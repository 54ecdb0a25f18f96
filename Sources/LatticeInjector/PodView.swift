/// Typed reads of a Pod (or a pod template: `metadata` + `spec`) held as JSON, checked once: a field of the wrong type
/// is an ``InjectionError`` naming it, so the rest of the injector never guesses.
struct PodView {
    let object: JSONObject
    let metadata: JSONObject?
    let spec: JSONObject
    let containers: [JSONObject]
    let initContainers: [JSONObject]?
    let annotations: [String: String]
    let labels: [String: String]
    let hasVolumes: Bool

    init(_ value: JSONValue) throws(InjectionError) {
        guard let object = value.objectValue else {
            throw InjectionError(.wrongType, "the pod is \(value.kindName), not an object")
        }
        self.object = object
        switch object["metadata"] {
        case nil, .null?: self.metadata = nil
        case .object(let m)?: self.metadata = m
        case let other?: throw InjectionError(.wrongType, "metadata is \(other.kindName), not an object")
        }
        self.annotations = try Self.stringMap(self.metadata?["annotations"], "metadata.annotations")
        self.labels = try Self.stringMap(self.metadata?["labels"], "metadata.labels")
        guard let specValue = object["spec"] else { throw InjectionError(.missingField, "spec is missing") }
        guard let spec = specValue.objectValue else {
            throw InjectionError(.wrongType, "spec is \(specValue.kindName), not an object")
        }
        self.spec = spec
        guard let containersValue = spec["containers"] else {
            throw InjectionError(.missingField, "spec.containers is missing (a pod has at least one container)")
        }
        self.containers = try Self.objects(containersValue, "spec.containers")
        switch spec["initContainers"] {
        case nil, .null?: self.initContainers = nil
        case let value?: self.initContainers = try Self.objects(value, "spec.initContainers")
        }
        switch spec["volumes"] {
        case nil, .null?: self.hasVolumes = false
        case .array?: self.hasVolumes = true
        case let other?: throw InjectionError(.wrongType, "spec.volumes is \(other.kindName), not a list")
        }
    }

    private static func stringMap(_ value: JSONValue?, _ field: String) throws(InjectionError) -> [String: String] {
        switch value {
        case nil, .null?: return [:]
        case .object(let o)?:
            var out: [String: String] = [:]
            for member in o {
                guard case .string(let s) = member.value else {
                    throw InjectionError(.wrongType, "\(field).\(member.key) is \(member.value.kindName), not a string")
                }
                out[member.key] = s
            }
            return out
        case let other?: throw InjectionError(.wrongType, "\(field) is \(other.kindName), not an object")
        }
    }

    private static func objects(_ value: JSONValue, _ field: String) throws(InjectionError) -> [JSONObject] {
        guard case .array(let items) = value else {
            throw InjectionError(.wrongType, "\(field) is \(value.kindName), not a list")
        }
        var out: [JSONObject] = []
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard case .object(let o) = item else {
                throw InjectionError(.wrongType, "\(field)[\(i)] is \(item.kindName), not an object")
            }
            guard o["name"]?.stringValue != nil else {
                throw InjectionError(.missingField, "\(field)[\(i)] has no name")
            }
            out.append(o)
        }
        return out
    }

    var name: String? { self.metadata?["name"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }
    var generateName: String? { self.metadata?["generateName"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }
    var kind: String? { self.object["kind"]?.stringValue }
    var hasAnnotationsObject: Bool { self.metadata?["annotations"]?.objectValue != nil }
    var hasLabelsObject: Bool { self.metadata?["labels"]?.objectValue != nil }
    var usesHostNetwork: Bool { self.spec["hostNetwork"]?.boolValue == true }

    /// Every container's name, init containers included.
    func hasContainer(named name: String) -> Bool {
        self.containers.contains { $0["name"]?.stringValue == name }
            || (self.initContainers?.contains { $0["name"]?.stringValue == name } ?? false)
    }

    /// The number of a container port called `name` (app containers first, then init containers).
    func containerPort(named name: String) -> Int? {
        for container in self.containers + (self.initContainers ?? []) {
            for port in container["ports"]?.arrayValue ?? [] where port["name"]?.stringValue == name {
                if let number = port["containerPort"]?.integerValue { return Int(number) }
            }
        }
        return nil
    }

    /// `PORT:PATH` of every HTTP probe of the app's containers, deduplicated, in order. A probe's port may be a
    /// number, a numeric string or a port name (the probing container's, then any container's). Paths with a comma
    /// can't be written in the proxy's list and are left out (such a probe is judged by the policy like any request).
    func probeRoutes() -> [String] {
        var out: [String] = []
        for container in self.containers {
            for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
                guard let action = container[key]?["httpGet"]?.objectValue, let portValue = action["port"] else { continue }
                let port: Int?
                switch portValue {
                case .integer(let i): port = Int(i)
                case .string(let s):
                    port = Int(s) ?? Self.port(named: s, in: container) ?? self.containerPort(named: s)
                default: port = nil
                }
                guard let port, (1...65535).contains(port) else { continue }
                var path = action["path"]?.stringValue ?? "/"
                if path.isEmpty { path = "/" }
                if !path.hasPrefix("/") { path = "/" + path }
                guard !path.contains(",") else { continue }
                let route = "\(port):\(path)"
                if !out.contains(route) { out.append(route) }
            }
        }
        return out
    }

    private static func port(named name: String, in container: JSONObject) -> Int? {
        for port in container["ports"]?.arrayValue ?? [] where port["name"]?.stringValue == name {
            if let number = port["containerPort"]?.integerValue { return Int(number) }
        }
        return nil
    }
}
