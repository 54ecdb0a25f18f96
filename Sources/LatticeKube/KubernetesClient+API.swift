import Foundation
import NIOCore
import NIOFoundationCompat

extension KubernetesClient {
    /// The TokenReview collection's path.
    static let tokenReviewsPath = "/apis/authentication.k8s.io/v1/tokenreviews"

    public func createTokenReview(token: String, audiences: [String]) async throws -> TokenReviewStatus {
        let request = "POST \(Self.tokenReviewsPath)"
        let review = TokenReview(spec: TokenReviewSpec(token: token, audiences: audiences.isEmpty ? nil : audiences))
        let body: ByteBuffer
        do {
            body = try JSONEncoder().encodeAsByteBuffer(review, allocator: ByteBufferAllocator())
        } catch {
            throw KubernetesError(code: .decoding, reason: "\(request): cannot encode the TokenReview: \(error)")
        }
        let response = try await self.data(.post, Self.tokenReviewsPath, body: body)
        let reviewed = try self.decode(TokenReview.self, from: response, request: request)
        guard let status = reviewed.status else {
            throw KubernetesError(code: .decoding, reason: "\(request): the TokenReview response has no status")
        }
        return status
    }

    public func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        let body = try await self.data(.get, path)
        return try self.decode(type, from: body, request: "GET \(path)")
    }

    public func list<Item: Decodable>(
        _ path: String,
        of type: Item.Type,
        options: ListOptions
    ) async throws -> KubernetesList<Item> {
        let body = try await self.data(.get, path, query: options.queryItems)
        return try self.decode(KubernetesList<Item>.self, from: body, request: "GET \(path)")
    }

    public func serverVersion() async throws -> ServerVersion {
        let body = try await self.data(.get, "/version")
        return try self.decode(ServerVersion.self, from: body, request: "GET /version")
    }
}

extension KubernetesClient {
    /// The body of `GET path` as the API server sent it (JSON), for callers that read objects generically.
    public func rawGet(_ path: String, labelSelector: String? = nil) async throws -> [UInt8] {
        let query = labelSelector.map { [("labelSelector", $0)] } ?? []
        return Array(try await self.data(.get, path, query: query).readableBytesView)
    }
}

/// Reads and writes ConfigMaps (the controller keeps a copy of the trust anchors in every namespace it may mesh).
public protocol ConfigMapStore: Sendable {
    /// The ConfigMap, or nil when there is none (404).
    func configMap(namespace: String, name: String) async throws -> ConfigMap?
    func create(_ configMap: ConfigMap, namespace: String) async throws
    /// Replaces it; `configMap.metadata.resourceVersion` must be the one read (409 Conflict otherwise).
    func replace(_ configMap: ConfigMap, namespace: String) async throws
}

extension KubernetesClient: ConfigMapStore {
    public func configMap(namespace: String, name: String) async throws -> ConfigMap? {
        do {
            return try await self.get("/api/v1/namespaces/\(namespace)/configmaps/\(name)", as: ConfigMap.self)
        } catch let error as KubernetesError where error.code == .notFound {
            return nil
        }
    }

    public func create(_ configMap: ConfigMap, namespace: String) async throws {
        _ = try await self.data(.post, "/api/v1/namespaces/\(namespace)/configmaps", body: try Self.encode(configMap))
    }

    public func replace(_ configMap: ConfigMap, namespace: String) async throws {
        let name = configMap.metadata.name ?? ""
        _ = try await self.data(.put, "/api/v1/namespaces/\(namespace)/configmaps/\(name)", body: try Self.encode(configMap))
    }

    private static func encode(_ configMap: ConfigMap) throws -> ByteBuffer {
        var object = configMap
        object.apiVersion = "v1"
        object.kind = "ConfigMap"
        do {
            return try JSONEncoder().encodeAsByteBuffer(object, allocator: ByteBufferAllocator())
        } catch {
            throw KubernetesError(code: .decoding, reason: "cannot encode ConfigMap \(configMap.metadata.name ?? "?"): \(error)")
        }
    }
}
