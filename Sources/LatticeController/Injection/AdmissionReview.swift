import Foundation

/// The parts of an `admission.k8s.io/v1` AdmissionReview request the injector needs, read from the body the API
/// server posts.
///
/// `object` is handed on as JSON bytes: the injector reads the Pod itself, so nothing here has to model a Pod.
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
    /// `request.object` as JSON.
    public var object: [UInt8]

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
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(body))
        } catch {
            throw AdmissionReviewError(uid: "", reason: "the body is not JSON (\(body.count) bytes): expected an \(apiVersion) AdmissionReview")
        }
        guard let review = root as? [String: Any] else {
            throw AdmissionReviewError(uid: "", reason: "the body is JSON but not an object: expected an \(apiVersion) AdmissionReview")
        }
        let apiVersion = review["apiVersion"] as? String ?? ""
        let kind = review["kind"] as? String ?? ""
        guard kind == "AdmissionReview" else {
            throw AdmissionReviewError(uid: "", reason: "kind is '\(kind)', expected 'AdmissionReview'")
        }
        guard let request = review["request"] as? [String: Any] else {
            throw AdmissionReviewError(uid: "", reason: "the AdmissionReview has no 'request' object")
        }
        let uid = request["uid"] as? String ?? ""
        guard apiVersion == Self.apiVersion else {
            throw AdmissionReviewError(
                uid: uid,
                reason: "apiVersion '\(apiVersion)' is not served: the webhook speaks \(Self.apiVersion) "
                    + "(set admissionReviewVersions: [v1] in the MutatingWebhookConfiguration)"
            )
        }
        guard !uid.isEmpty else { throw AdmissionReviewError(uid: "", reason: "request.uid is missing") }
        let gvk = request["kind"] as? [String: Any] ?? [:]
        let group = gvk["group"] as? String ?? ""
        let version = gvk["version"] as? String ?? ""
        let objectKind = gvk["kind"] as? String ?? ""
        let operation = request["operation"] as? String ?? ""
        guard let object = request["object"] as? [String: Any] else {
            throw AdmissionReviewError(uid: uid, reason: "request.object is missing or not an object (operation \(operation))")
        }
        let metadata = object["metadata"] as? [String: Any] ?? [:]
        let name = (metadata["name"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            ?? (metadata["generateName"] as? String).map { $0 + "*" } ?? "?"
        let namespace = (request["namespace"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            ?? metadata["namespace"] as? String ?? ""
        let objectBytes: [UInt8]
        do {
            objectBytes = Array(try JSONSerialization.data(withJSONObject: object))
        } catch {
            throw AdmissionReviewError(uid: uid, reason: "request.object cannot be re-encoded: \(error)")
        }
        return AdmissionRequest(
            uid: uid,
            kind: "\(group)/\(version)/\(objectKind)",
            namespace: namespace,
            objectName: name,
            operation: operation,
            dryRun: request["dryRun"] as? Bool ?? false,
            object: objectBytes
        )
    }

    /// The AdmissionReview answer: always allowed (the webhook only mutates), with a JSON Patch when there is one.
    public static func allowed(uid: String, patch: [UInt8]?, warnings: [String] = []) -> [UInt8] {
        var response: [String: Any] = ["uid": uid, "allowed": true]
        if let patch {
            response["patchType"] = "JSONPatch"
            response["patch"] = Data(patch).base64EncodedString()
        }
        if !warnings.isEmpty { response["warnings"] = warnings }
        return Self.encode(response)
    }

    /// The answer to a review the webhook could not handle. It still allows the object (a broken review must not
    /// block pod creation; the API server's failurePolicy governs webhook outages, not this), with the reason in
    /// `status` and as a warning the user sees in kubectl.
    public static func failed(_ error: AdmissionReviewError, code: Int = 400) -> [UInt8] {
        Self.encode([
            "uid": error.uid,
            "allowed": true,
            "status": ["code": code, "message": "lattice injector: \(error.reason)"] as [String: Any],
            "warnings": ["lattice injector: \(error.reason)"],
        ])
    }

    private static func encode(_ response: [String: Any]) -> [UInt8] {
        let review: [String: Any] = ["apiVersion": Self.apiVersion, "kind": "AdmissionReview", "response": response]
        // Every value above is a string, number, bool, array or dictionary: serialization cannot fail.
        return Array((try? JSONSerialization.data(withJSONObject: review, options: [.sortedKeys])) ?? Data("{}".utf8))
    }
}
