import LatticeKube
import Testing

@Suite(.timeLimit(.minutes(1)))
struct TokenReviewTests {
    @Test
    func sendsTheTokenReviewWithTheFileTokenAndDecodesTheVerdict() async throws {
        try await withTemporaryDirectory { directory in
            let tokenPath = directory + "/token"
            try writeFile(tokenPath, "controller-token-1\n")
            try await withFakeAPI(
                authentication: .bearerTokenFile(path: tokenPath),
                handler: { _ in .fixture("tokenreview-authenticated.json") }
            ) { server, client in
                let status = try await client.createTokenReview(
                    token: "workload-token",
                    audiences: ["identity.lattice.io"]
                )

                let request = try #require(server.requests.first)
                #expect(server.requests.count == 1)
                #expect(request.method == "POST")
                #expect(request.path == "/apis/authentication.k8s.io/v1/tokenreviews")
                #expect(request.query.isEmpty)
                #expect(request.headers["authorization"] == "Bearer controller-token-1")
                #expect(request.headers["content-type"] == "application/json")
                #expect(request.headers["accept"] == "application/json")
                let body = try request.jsonBody()
                #expect(body["apiVersion"] as? String == "authentication.k8s.io/v1")
                #expect(body["kind"] as? String == "TokenReview")
                #expect(body["status"] == nil)
                let spec = try #require(body["spec"] as? [String: Any])
                #expect(spec["token"] as? String == "workload-token")
                #expect(spec["audiences"] as? [String] == ["identity.lattice.io"])

                #expect(status.authenticated)
                #expect(status.error == nil)
                #expect(status.audiences == ["identity.lattice.io"])
                let user = try #require(status.user)
                #expect(user.username == "system:serviceaccount:default:web")
                #expect(user.groups?.contains("system:serviceaccounts:default") == true)
                #expect(user.extra?["authentication.kubernetes.io/pod-name"] == ["web-7d4b9c6f5-x2l8q"])
                #expect(try user.serviceAccountName() == ServiceAccountName(namespace: "default", name: "web"))
            }
        }
    }

    @Test
    func emptyAudiencesAreOmittedFromTheRequest() async throws {
        try await withFakeAPI(handler: { _ in .fixture("tokenreview-authenticated.json") }) { server, client in
            _ = try await client.createTokenReview(token: "workload-token", audiences: [])
            let request = try #require(server.requests.first)
            let spec = try #require(try request.jsonBody()["spec"] as? [String: Any])
            #expect(spec["audiences"] == nil)
            #expect(spec["token"] as? String == "workload-token")
        }
    }

    @Test
    func anInvalidTokenIsAVerdictNotAnError() async throws {
        try await withFakeAPI(handler: { _ in .fixture("tokenreview-unauthenticated.json") }) { _, client in
            let status = try await client.createTokenReview(token: "expired", audiences: ["identity.lattice.io"])
            #expect(!status.authenticated)
            #expect(status.error == "[invalid bearer token, service account token has expired]")
            #expect(status.user?.username == nil)
            #expect(throws: KubernetesError(code: .notServiceAccount, reason: "")) {
                try status.user?.serviceAccountName()
            }
        }
    }

    @Test
    func aResponseWithoutStatusIsADecodingError() async throws {
        let body = #"{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","spec":{"token":"x"}}"#
        try await withFakeAPI(handler: { _ in .json(body, status: 201) }) { _, client in
            let error = await #expect(throws: KubernetesError.self) {
                try await client.createTokenReview(token: "x", audiences: [])
            }
            #expect(error?.code == .decoding)
            #expect(error?.reason.contains("no status") == true)
        }
    }

    @Test
    func forbiddenCarriesTheAPIMessage() async throws {
        try await withFakeAPI(handler: { _ in .fixture("status-403.json", status: 403) }) { _, client in
            let error = await #expect(throws: KubernetesError(code: .forbidden, reason: "")) {
                try await client.createTokenReview(token: "x", audiences: ["identity.lattice.io"])
            }
            #expect(error?.httpStatus == 403)
            #expect(error?.status?.reason == "Forbidden")
            #expect(error?.status?.details?.kind == "tokenreviews")
            #expect(
                error?.reason.contains(
                    #"User "system:serviceaccount:lattice:lattice-identity" cannot create resource "tokenreviews""#
                ) == true
            )
            #expect(error?.reason.hasPrefix("POST /apis/authentication.k8s.io/v1/tokenreviews: HTTP 403") == true)
        }
    }
}
