import Foundation
import LatticeKube

/// A failure in the test harness itself.
struct FixtureError: Error, CustomStringConvertible {
    var message: String

    var description: String {
        self.message
    }
}

/// The recorded API bodies in `Fixtures/`.
enum Fixture {
    /// The fixture's text; a missing fixture is a broken test target, so it traps.
    static func text(_ name: String) -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else {
            fatalError("missing fixture \(name)")
        }
        return text
    }

    /// The fixture decoded as `T`.
    static func decode<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(self.text(name).utf8))
    }
}

/// A temporary directory, removed when `body` returns or throws.
func withTemporaryDirectory<Result>(_ body: (String) async throws -> Result) async throws -> Result {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("lattice-kube-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Writes `text` to `path`, creating parent directories.
func writeFile(_ path: String, _ text: String) throws {
    let directory = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
}

/// Runs `body` with a client for `config` and shuts the client down afterwards, whether `body` succeeded or not.
@discardableResult
func withClient<Result>(
    _ config: KubernetesClientConfig,
    now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
    body: (KubernetesClient) async throws -> Result
) async throws -> Result {
    let client = try KubernetesClient(config: config, now: now)
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// Runs `body` with a fake server answering with `handler` and a client pointed at it (authenticated with a static
/// token unless `authentication` says otherwise); both are shut down afterwards.
@discardableResult
func withFakeAPI<Result>(
    authentication: KubernetesClientConfig.Authentication = .bearerToken("test-token"),
    handler: @escaping FakeAPIServer.Handler,
    body: (FakeAPIServer, KubernetesClient) async throws -> Result
) async throws -> Result {
    try await withFakeAPIServer(handler) { server in
        try await withClient(KubernetesClientConfig(serverURL: server.url, authentication: authentication)) { client in
            try await body(server, client)
        }
    }
}
