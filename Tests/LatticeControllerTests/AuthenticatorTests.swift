import Foundation
import LatticeController
import LatticeKube
import LatticeModel
import LatticeTestSupport
import Testing

@Suite struct LocalTokenAuthenticatorTests {
    @Test func parsesReloadsAndExpires() async throws {
        try await TestFiles.withDirectory { dir in
            let path = "\(dir)/tokens"
            try TestFiles.write(
                """
                # token            namespace/serviceaccount   not-after
                web-token          default/web
                old-token          default/db                 2020-01-01T00:00:00Z
                """,
                to: path
            )
            let clock = ManualDate()
            let auth = LocalTokenAuthenticator(path: path, domain: .default, recheckInterval: .seconds(1), now: { clock.now })
            try auth.load()
            #expect(try await auth.authenticate(token: "web-token") == CertFactory.identity("web"))
            await #expect(throws: AuthenticationError.self) { try await auth.authenticate(token: "old-token") }
            await #expect(throws: AuthenticationError.self) { try await auth.authenticate(token: "new-token") }
            try TestFiles.write("new-token default/api\n", to: path)
            clock.advance(2)
            #expect(try await auth.authenticate(token: "new-token") == CertFactory.identity("api"))
            await #expect(throws: AuthenticationError.self) { try await auth.authenticate(token: "web-token") }
            // A broken file keeps the last good tokens.
            try TestFiles.write("new-token\n", to: path)
            clock.advance(2)
            #expect(try await auth.authenticate(token: "new-token") == CertFactory.identity("api"))
        }
    }

    @Test(arguments: [
        ("tok", "1"),
        ("tok default", "NAMESPACE/SERVICEACCOUNT"),
        ("tok default/Bad_SA", "DNS subdomain"),
        ("tok default/web yesterday", "ISO 8601"),
        ("tok default/web\ntok default/db", "twice"),
    ])
    func badLinesAreNamed(text: String, expected: String) {
        let error = #expect(throws: AuthenticationError.self) {
            try LocalTokenAuthenticator.parse(text, source: "tokens", domain: .default)
        }
        #expect(error?.reason.contains(expected) == true, "\(error?.reason ?? "")")
        #expect(error?.reason.hasPrefix("tokens:") == true)
    }
}

/// A Kubernetes API that answers TokenReviews from a table, as the API server would.
struct FakeTokenReviewAPI: KubernetesAPI {
    let statuses: [String: TokenReviewStatus]
    var failure: KubernetesError?

    func createTokenReview(token: String, audiences: [String]) async throws -> TokenReviewStatus {
        if let failure { throw failure }
        return self.statuses[token] ?? TokenReviewStatus(authenticated: false, error: "invalid bearer token")
    }
    func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        throw KubernetesError(code: .notFound, reason: "not in fake")
    }
    func list<Item: Decodable>(_ path: String, of type: Item.Type, options: ListOptions) async throws -> KubernetesList<Item> {
        throw KubernetesError(code: .notFound, reason: "not in fake")
    }
    func watch<Object: Decodable & Sendable>(
        _ path: String,
        as type: Object.Type,
        resourceVersion: String?,
        options: WatchOptions
    ) -> AsyncThrowingStream<WatchEvent<Object>, any Error> {
        AsyncThrowingStream { $0.finish() }
    }
    func serverVersion() async throws -> ServerVersion {
        throw KubernetesError(code: .notFound, reason: "not in fake")
    }
}

@Suite struct KubernetesTokenAuthenticatorTests {
    /// The TokenReview status bodies exactly as the API server serves them.
    static func status(_ json: String) throws -> TokenReviewStatus {
        struct Review: Decodable { let status: TokenReviewStatus }
        return try JSONDecoder().decode(Review.self, from: Data(json.utf8)).status
    }

    @Test func mapsTokenReviewsToIdentities() async throws {
        let good = try Self.status(
            #"""
            {"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},
             "spec":{"token":"x","audiences":["identity.lattice.io"]},
             "status":{"authenticated":true,"user":{"username":"system:serviceaccount:akko:akko-aden",
               "uid":"5c2b4f0e-0d1f-4b7e-9a51-3f1c3b2f6a10","groups":["system:serviceaccounts",
               "system:serviceaccounts:akko","system:authenticated"],
               "extra":{"authentication.kubernetes.io/pod-name":["akko-aden-7d9c"]}},
               "audiences":["identity.lattice.io"]}}
            """#
        )
        let wrongAudience = try Self.status(
            #"{"status":{"authenticated":true,"user":{"username":"system:serviceaccount:akko:web"},"audiences":["api"]}}"#
        )
        let human = try Self.status(
            #"{"status":{"authenticated":true,"user":{"username":"alice@example.com"},"audiences":["identity.lattice.io"]}}"#
        )
        let api = FakeTokenReviewAPI(statuses: ["good": good, "aud": wrongAudience, "human": human])
        let auth = KubernetesTokenAuthenticator(api: api, domain: .default)
        #expect(try await auth.authenticate(token: "good") == CertFactory.identity("akko-aden", "akko"))
        for token in ["aud", "human", "unknown"] {
            let error = await #expect(throws: AuthenticationError.self) { try await auth.authenticate(token: token) }
            #expect(error?.kind == .unauthenticated, "\(token)")
        }
        let down = KubernetesTokenAuthenticator(
            api: FakeTokenReviewAPI(statuses: [:], failure: KubernetesError(code: .forbidden, reason: "no RBAC")),
            domain: .default
        )
        let error = await #expect(throws: AuthenticationError.self) { try await down.authenticate(token: "good") }
        #expect(error?.kind == .unavailable)
    }
}
