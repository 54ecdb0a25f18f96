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
