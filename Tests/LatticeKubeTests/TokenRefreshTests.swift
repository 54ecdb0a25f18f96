import LatticeKube
import Synchronization
import Testing

/// A clock the test moves by hand.
private final class ManualNow: Sendable {
    private let instant = Mutex(ContinuousClock.now)

    var now: @Sendable () -> ContinuousClock.Instant {
        { self.instant.withLock { $0 } }
    }

    func advance(by duration: Duration) {
        self.instant.withLock { $0 = $0.advanced(by: duration) }
    }
}

@Suite(.timeLimit(.minutes(1)))
struct TokenRefreshTests {
    private func authorizations(_ server: FakeAPIServer) -> [String?] {
        server.requests.map { $0.headers["authorization"] }
    }

    @Test
    func theTokenFileIsReReadAfterTheRefreshInterval() async throws {
        try await withTemporaryDirectory { directory in
            let tokenPath = directory + "/token"
            try writeFile(tokenPath, "token-1")
            let clock = ManualNow()
            try await withFakeAPIServer({ _ in .fixture("version-eks.json") }) { server in
                let config = KubernetesClientConfig(
                    serverURL: server.url,
                    authentication: .bearerTokenFile(path: tokenPath),
                    tokenRefreshInterval: .seconds(60)
                )
                try await withClient(config, now: clock.now) { client in
                    _ = try await client.serverVersion()
                    try writeFile(tokenPath, "token-2\n")
                    clock.advance(by: .seconds(59))
                    _ = try await client.serverVersion()
                    clock.advance(by: .seconds(2))
                    _ = try await client.serverVersion()
                }
                #expect(self.authorizations(server) == ["Bearer token-1", "Bearer token-1", "Bearer token-2"])
            }
        }
    }

    @Test
    func invalidatingForcesAReRead() async throws {
        try await withTemporaryDirectory { directory in
            let tokenPath = directory + "/token"
            try writeFile(tokenPath, "token-1")
            try await withFakeAPIServer({ _ in .fixture("version-eks.json") }) { server in
                let config = KubernetesClientConfig(
                    serverURL: server.url,
                    authentication: .bearerTokenFile(path: tokenPath)
                )
                try await withClient(config) { client in
                    _ = try await client.serverVersion()
                    try writeFile(tokenPath, "token-2")
                    _ = try await client.serverVersion()
                    client.invalidateToken()
                    _ = try await client.serverVersion()
                }
                #expect(self.authorizations(server) == ["Bearer token-1", "Bearer token-1", "Bearer token-2"])
            }
        }
    }

    @Test
    func a401ReReadsTheTokenFileAndRetriesOnce() async throws {
        try await withTemporaryDirectory { directory in
            let tokenPath = directory + "/token"
            try writeFile(tokenPath, "token-1")
            let handler: FakeAPIServer.Handler = { request in
                request.headers["authorization"] == "Bearer token-2"
                    ? .fixture("version-eks.json") : .fixture("status-401.json", status: 401)
            }
            try await withFakeAPIServer(handler) { server in
                let config = KubernetesClientConfig(
                    serverURL: server.url,
                    authentication: .bearerTokenFile(path: tokenPath)
                )
                try await withClient(config) { client in
                    _ = await #expect(throws: KubernetesError(code: .unauthorized, reason: "")) {
                        try await client.serverVersion()
                    }
                    // The file did not change, so the 401 was not retried.
                    #expect(self.authorizations(server) == ["Bearer token-1"])

                    try writeFile(tokenPath, "token-2")
                    let version = try await client.serverVersion()
                    #expect(version.minor == 29)
                }
                #expect(self.authorizations(server) == ["Bearer token-1", "Bearer token-1", "Bearer token-2"])
            }
        }
    }

    @Test
    func aStaticTokenIsSentAndNoneSendsNoHeader() async throws {
        try await withFakeAPI(authentication: .bearerToken("static")) { _ in
            .fixture("version-eks.json")
        } body: {
            server,
            client in
            _ = try await client.serverVersion()
            #expect(self.authorizations(server) == ["Bearer static"])
        }
        try await withFakeAPI(authentication: .none) { _ in
            .fixture("version-eks.json")
        } body: { server, client in
            _ = try await client.serverVersion()
            #expect(self.authorizations(server) == [nil])
        }
    }

    @Test
    func aMissingOrEmptyTokenFileIsAConfigError() async throws {
        try await withTemporaryDirectory { directory in
            let tokenPath = directory + "/token"
            try await withFakeAPI(authentication: .bearerTokenFile(path: tokenPath)) { _ in
                .fixture("version-eks.json")
            } body: { server, client in
                let missing = await #expect(throws: KubernetesError(code: .config, reason: "")) {
                    try await client.serverVersion()
                }
                #expect(missing?.reason.contains(tokenPath) == true)
                try writeFile(tokenPath, "\n")
                let empty = await #expect(throws: KubernetesError(code: .config, reason: "")) {
                    try await client.serverVersion()
                }
                #expect(empty?.reason.contains("is empty") == true)
                #expect(server.requests.isEmpty)
            }
        }
    }
}
