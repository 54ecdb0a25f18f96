import Foundation
import LatticeKube

/// Reads API objects as the API server serves them (JSON), for the Kubernetes categories of `lattice check`.
protocol KubernetesObjectReader: Sendable {
    /// The body of `GET path[?labelSelector=…]`.
    func get(_ path: String, labelSelector: String?) async throws -> [UInt8]
}

extension KubernetesClient: KubernetesObjectReader {
    func get(_ path: String, labelSelector: String?) async throws -> [UInt8] {
        try await self.rawGet(path, labelSelector: labelSelector)
    }
}

/// A JSON object read from the API, with the lookups the checks need.
struct APIObject: @unchecked Sendable {
    // JSONSerialization's values: immutable once parsed.
    let json: [String: Any]

    init(_ json: [String: Any]) { self.json = json }

    static func parse(_ bytes: [UInt8], what: String) throws -> APIObject {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw KubernetesCheckError("\(what): the API answered something that is not a JSON object")
        }
        return APIObject(object)
    }

    /// The `items` of a List.
    var items: [APIObject] { (self.json["items"] as? [[String: Any]] ?? []).map(APIObject.init) }

    subscript(path: String) -> Any? {
        var current: Any? = self.json
        for key in path.split(separator: ".") {
            current = (current as? [String: Any])?[String(key)]
        }
        return current
    }

    func string(_ path: String) -> String? { self[path] as? String }
    func strings(_ path: String) -> [String: String] { self[path] as? [String: String] ?? [:] }
    func objects(_ path: String) -> [APIObject] { (self[path] as? [[String: Any]] ?? []).map(APIObject.init) }

    /// A key of a ConfigMap's or Secret's `data` (keys such as `tls.crt` hold dots, so not a path).
    func data(_ key: String) -> String? { (self.json["data"] as? [String: Any])?[key] as? String }

    var name: String { self.string("metadata.name") ?? "?" }
    var namespace: String { self.string("metadata.namespace") ?? "" }
    var labels: [String: String] { self.strings("metadata.labels") }
    var annotations: [String: String] { self.strings("metadata.annotations") }

    /// The object as JSON bytes (for the injector, which reads Pods itself).
    var bytes: [UInt8] { Array((try? JSONSerialization.data(withJSONObject: self.json)) ?? Data()) }
}

struct KubernetesCheckError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A `metav1.LabelSelector` (matchLabels and matchExpressions), evaluated as the API server does: every term must
/// hold; an empty selector matches everything.
struct LabelSelector {
    let matchLabels: [String: String]
    let expressions: [(key: String, operator: String, values: [String])]

    init(_ object: APIObject?) {
        self.matchLabels = object?.strings("matchLabels") ?? [:]
        self.expressions = (object?.objects("matchExpressions") ?? []).map {
            ($0.string("key") ?? "", $0.string("operator") ?? "", $0["values"] as? [String] ?? [])
        }
    }

    func matches(_ labels: [String: String]) -> Bool {
        for (key, value) in self.matchLabels where labels[key] != value { return false }
        for term in self.expressions {
            let value = labels[term.key]
            switch term.operator {
            case "In": guard let value, term.values.contains(value) else { return false }
            case "NotIn": if let value, term.values.contains(value) { return false }
            case "Exists": if value == nil { return false }
            case "DoesNotExist": if value != nil { return false }
            default: return false
            }
        }
        return true
    }
}
