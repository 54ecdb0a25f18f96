import FoundationEssentials
import LatticeInjector

/// The parts of an `admission.k8s.io/v1` AdmissionReview request the injector needs, read from the body the API
/// server posts. The body is parsed once (LatticeInjector's ordered JSON) and the Pod handed on as parsed.
public struct AdmissionRequest: Sendable, Hashable {
    public var uid: String
    /// `group/version/kind` of the object (`/v1/Pod`).
    public var kind: String
    /// `request.namespace`: a Pod created by a controller often has no `metadata.namespace` yet.
    public var namespace: String
    /// `metadata.name`, or `generateName` + `*` when the name is not chosen yet (Deployment pods).
    public var objectName: String
    /// CREATE, UPDATE, …
    public var operation: String
    public var dryRun: Bool
    /// `request.object`.
    public var object: JSONValue

    public var isPodCreation: Bool { self.kind == "/v1/Pod" && self.operation == "CREATE" }
}

/// Why a body is not an AdmissionReview the webhook can answer.
public struct AdmissionReviewError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The review's uid when it could be read (the answer must carry it), else empty.
    public var uid: String
    public var reason: String
    public var description: String { self.reason }
}

public enum AdmissionReviewCodec {
    public static let apiVersion = "admission.k8s.io/v1"

    /// Reads an AdmissionReview request body.
    public static func decode(_ body: [UInt8]) throws(AdmissionReviewError) -> AdmissionRequest {
        let root: JSONValue
        do {
            root = try JSONValue.parse(body)
        } catch {
            throw AdmissionReviewError(uid: "", reason: "the body is not JSON (\(body.count) bytes): expected an \(apiVersion) AdmissionReview")
        }
        guard root.objectValue != nil else {
            throw AdmissionReviewError(uid: "", reason: "the body is JSON but not an object: expected an \(apiVersion) AdmissionReview")
        }
        let kind = root["kind"]?.stringValue ?? ""
        guard kind == "AdmissionReview" else {
            throw AdmissionReviewError(uid: "", reason: "kind is '\(kind)', expected 'AdmissionReview'")
        }
        guard let request = root["request"], request.objectValue != nil else {
            throw AdmissionReviewError(uid: "", reason: "the AdmissionReview has no 'request' object")
        }
        let uid = request["uid"]?.stringValue ?? ""
        let apiVersion = root["apiVersion"]?.stringValue ?? ""
        guard apiVersion == Self.apiVersion else {
            throw AdmissionReviewError(
                uid: uid,
                reason: "apiVersion '\(apiVersion)' is not served: the webhook speaks \(Self.apiVersion) "
                    + "(set admissionReviewVersions: [v1] in the MutatingWebhookConfiguration)"
            )
        }
        guard !uid.isEmpty else { throw AdmissionReviewError(uid: "", reason: "request.uid is missing") }
        let gvk = request["kind"]
        let group = gvk?["group"]?.stringValue ?? ""
        let version = gvk?["version"]?.stringValue ?? ""
        let objectKind = gvk?["kind"]?.stringValue ?? ""
        let operation = request["operation"]?.stringValue ?? ""
        guard let object = request["object"], object.objectValue != nil else {
            throw AdmissionReviewError(uid: uid, reason: "request.object is missing or not an object (operation \(operation))")
        }
        let metadata = object["metadata"]
        let name = (metadata?["name"]?.stringValue).flatMap { $0.isEmpty ? nil : $0 }
            ?? (metadata?["generateName"]?.stringValue).map { $0 + "*" } ?? "?"
        let namespace = (request["namespace"]?.stringValue).flatMap { $0.isEmpty ? nil : $0 }
            ?? metadata?["namespace"]?.stringValue ?? ""
        return AdmissionRequest(
            uid: uid,
            kind: "\(group)/\(version)/\(objectKind)",
            namespace: namespace,
            objectName: name,
            operation: operation,
            dryRun: request["dryRun"]?.boolValue ?? false,
            object: object
        )
    }

    /// The AdmissionReview answer: always allowed (the webhook only mutates), with a JSON Patch when there is one.
    public static func allowed(uid: String, patch: [UInt8]?, warnings: [String] = []) -> [UInt8] {
        var response: [(String, JSONValue)] = [("uid", .string(uid)), ("allowed", true)]
        if let patch {
            response.append(("patchType", "JSONPatch"))
            response.append(("patch", .string(Data(patch).base64EncodedString())))
        }
        if !warnings.isEmpty { response.append(("warnings", .array(warnings.map(JSONValue.string)))) }
        return Self.encode(response)
    }

    /// The answer to a review the webhook could not handle. It still allows the object (a broken review must not
    /// block pod creation; the API server's failurePolicy governs webhook outages, not this), with the reason in
    /// `status` and as a warning the user sees in kubectl.
    public static func failed(_ error: AdmissionReviewError, code: Int = 400) -> [UInt8] {
        let message = "lattice injector: \(error.reason)"
        return Self.encode([
            ("uid", .string(error.uid)),
            ("allowed", true),
            ("status", .object(JSONObject(["code": .integer(Int64(code)), "message": .string(message)]))),
            ("warnings", [.string(message)]),
        ])
    }

    private static func encode(_ response: [(String, JSONValue)]) -> [UInt8] {
        let body = JSONObject(response.map { JSONObject.Member(key: $0.0, value: $0.1) })
        let review = JSONObject([
            "apiVersion": .string(Self.apiVersion), "kind": "AdmissionReview", "response": .object(body),
        ])
        return JSONValue.object(review).serialized()
    }
}
