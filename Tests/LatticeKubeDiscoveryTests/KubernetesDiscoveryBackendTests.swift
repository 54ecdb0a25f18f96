import Foundation
import LatticeDiscovery
import LatticeKube
import LatticeKubeDiscovery
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(1)))
struct KubernetesDiscoveryBackendTests {
    typealias Backend = KubernetesDiscoveryBackend

    /// Quick timing, so that backoffs and coalescing cost milliseconds.
    static let fast = Backend.Configuration(
        resyncInterval: .seconds(60),
        watchTimeout: .seconds(30),
        publishInterval: .milliseconds(20),
        initialBackoff: .milliseconds(10),
        maximumBackoff: .milliseconds(50)
    )

    /// The snapshots a backend published, in order.
    final class Published: Sendable {
        private let snapshots = Mutex<[MeshSnapshot]>([])

        func append(_ snapshot: MeshSnapshot) {
            self.snapshots.withLock { $0.append(snapshot) }
        }

        var all: [MeshSnapshot] {
            self.snapshots.withLock { $0 }
        }

        var last: MeshSnapshot? {
            self.all.last
        }
    }

    /// Runs the backend while `body` runs, then cancels it and checks that `run()` returned.
    func withRunningBackend(
        _ api: any KubernetesAPI,
        configuration: Backend.Configuration = Self.fast,
        body: (Backend, Published) async throws -> Void
    ) async throws {
        let published = Published()
        let backend = Backend(api: api, configuration: configuration) { published.append($0) }
        let task = Task { try await backend.run() }
        do {
            try await body(backend, published)
        } catch {
            task.cancel()
            _ = await task.result
            throw error
        }
        task.cancel()
        try await task.value
    }

    static func lists(pods: [Data?] = [Fixture.data("pods.json")], namespaces: [Data?] = [Fixture.data("namespaces.json")]) -> [String: [Data?]] {
        [
            Backend.podsPath: pods,
            Backend.servicesPath: [Fixture.data("services.json")],
            Backend.endpointSlicesPath: [Fixture.data("endpointslices.json")],
            Backend.namespacesPath: namespaces,
        ]
    }

    static func webEndpoints(in snapshot: MeshSnapshot?) -> [String] {
        guard let snapshot,
            case .endpoints(_, let endpoints) = DestinationResolver(settings: DiscoverySettings())
                .resolve("web.shop.svc.cluster.local:80", in: snapshot)
        else { return [] }
        return endpoints.map(\.address.description)
    }

    @Test
    func listsWatchesAndRelistsAfterGone() async throws {
        let api = FakeKubernetesAPI(
            lists: Self.lists(pods: [Fixture.data("pods.json"), Fixture.data("pods-relist.json")]),
            watches: [
                Backend.podsPath: [Fixture.lines("watch-pods.jsonl")],
                Backend.endpointSlicesPath: [Fixture.lines("watch-endpointslices.jsonl")],
            ]
        )
        try await self.withRunningBackend(api) { backend, published in
            try await eventually("the moved pod is published and the deleted one is gone") {
                guard let last = published.last else { return false }
                return Self.webEndpoints(in: last) == ["198.51.100.13:8080"]
                    && last.workload(namespace: "shop", name: "api-5c9d7b8f4-w4n6t") == nil
            }
            try await eventually("the pods are watched again from the relist") {
                api.calls(.watch, Backend.podsPath).count == 2
            }
            #expect(backend.hasSynced)
            // Nothing was published before every collection had been listed.
            let first = try #require(published.all.first)
            #expect(first.namespaceAnnotations["shop"] != nil)
            #expect(!first.services.isEmpty && !first.workloads.isEmpty)

            #expect(api.calls(.list, Backend.podsPath).count == 2)
            #expect(api.calls(.list, Backend.servicesPath).count == 1)
            let podWatches = api.calls(.watch, Backend.podsPath)
            #expect(podWatches.map(\.resourceVersion) == ["51000", "51200"])
            #expect(podWatches.allSatisfy { $0.allowsBookmarks })
            #expect(api.calls(.watch, Backend.endpointSlicesPath).first?.resourceVersion == "51002")
            #expect(api.calls(.watch, Backend.namespacesPath).first?.resourceVersion == "51003")
            #expect(backend.currentState.resourceVersion(of: Pod.self) == "51200")
            #expect(backend.currentState.resourceVersion(of: EndpointSlice.self) == "51021")
        }
    }

    @Test
    func publishesNothingUntilEveryCollectionIsListed() async throws {
        // Listing namespaces is forbidden twice, then allowed: the backend backs off and retries.
        let api = FakeKubernetesAPI(
            lists: Self.lists(namespaces: [nil, nil, Fixture.data("namespaces.json")])
        )
        try await self.withRunningBackend(api) { backend, published in
            try await eventually("a snapshot is published") { published.last != nil }
            #expect(backend.hasSynced)
            #expect(api.calls(.list, Backend.namespacesPath).count == 3)
            #expect(published.all.allSatisfy { $0.namespaceAnnotations["shop"] != nil })
            #expect(Self.webEndpoints(in: published.last) == ["198.51.100.10:8080"])
        }
    }

    @Test
    func stopsWhenCancelledBeforeSyncing() async throws {
        let api = FakeKubernetesAPI(lists: Self.lists(namespaces: [nil]))
        try await self.withRunningBackend(api) { backend, published in
            try await eventually("namespaces have been tried twice") {
                api.calls(.list, Backend.namespacesPath).count >= 2
            }
            #expect(!backend.hasSynced)
            #expect(published.all.isEmpty)
        }
    }

    @Test
    func resyncsPeriodically() async throws {
        var configuration = Self.fast
        configuration.resyncInterval = .milliseconds(300)
        let api = FakeKubernetesAPI(lists: Self.lists())
        try await self.withRunningBackend(api, configuration: configuration) { backend, published in
            try await eventually("every collection is listed again") {
                [Backend.podsPath, Backend.servicesPath, Backend.endpointSlicesPath, Backend.namespacesPath]
                    .allSatisfy { api.calls(.list, $0).count >= 2 }
            }
            // Each watch asked the server to end it by the next resync.
            let watches = api.calls.filter { $0.kind == .watch }
            #expect(!watches.isEmpty)
            #expect(watches.allSatisfy { ($0.timeout ?? .seconds(3600)) <= .milliseconds(300) })
            // Resyncing to the same objects publishes nothing new.
            #expect(published.all.count == 1)
        }
    }
}

#if canImport(Glibc)
extension KubernetesDiscoveryBackendTests {
    /// The whole path over a real socket: the client's requests, the server's chunked watch streams and the 410.
    @Test
    func runsAgainstAnAPIServerOnALoopbackSocket() async throws {
        let served = Mutex<[String: Int]>([:])
        let handler: LoopbackAPIServer.Handler = { request in
            let key = "\(request.isWatch ? "watch" : "list") \(request.path)"
            let count = served.withLock { counts in
                counts[key, default: 0] += 1
                return counts[key]!
            }
            func text(_ name: String) -> String { String(decoding: Fixture.data(name), as: UTF8.self) }
            func lines(_ name: String) -> [String] { Fixture.lines(name).map { String(decoding: $0, as: UTF8.self) } }
            switch (key, count) {
            case ("list \(Backend.podsPath)", 1): return .json(text("pods.json"))
            case ("list \(Backend.podsPath)", _): return .json(text("pods-relist.json"))
            case ("list \(Backend.servicesPath)", _): return .json(text("services.json"))
            case ("list \(Backend.endpointSlicesPath)", _): return .json(text("endpointslices.json"))
            case ("list \(Backend.namespacesPath)", _): return .json(text("namespaces.json"))
            case ("watch \(Backend.podsPath)", 1): return .watch(lines: lines("watch-pods.jsonl"), holdOpen: false)
            case ("watch \(Backend.endpointSlicesPath)", 1):
                return .watch(lines: lines("watch-endpointslices.jsonl"), holdOpen: true)
            case (_, _) where request.isWatch: return .watch(lines: [], holdOpen: true)
            default: return .json(#"{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}"#, status: 404)
            }
        }
        try await withLoopbackAPIServer(handler) { server in
            let client = try KubernetesClient(
                config: KubernetesClientConfig(serverURL: server.url, authentication: .bearerToken("test-token"))
            )
            do {
                try await self.withRunningBackend(client) { backend, published in
                    try await eventually("the moved pod is published and the deleted one is gone") {
                        guard let last = published.last else { return false }
                        return Self.webEndpoints(in: last) == ["198.51.100.13:8080"]
                            && last.workload(namespace: "shop", name: "api-5c9d7b8f4-w4n6t") == nil
                    }
                    try await eventually("the pods are watched again from the relist") {
                        server.requests.filter { $0.isWatch && $0.path == Backend.podsPath }.count == 2
                    }
                    #expect(backend.hasSynced)
                }
                try await client.shutdown()
            } catch {
                try? await client.shutdown()
                throw error
            }
            let podWatches = server.requests.filter { $0.isWatch && $0.path == Backend.podsPath }
            #expect(podWatches.map { $0.query["resourceVersion"] } == ["51000", "51200"])
            #expect(podWatches.allSatisfy { $0.query["allowWatchBookmarks"] == "true" })
            #expect(podWatches.allSatisfy { $0.query["timeoutSeconds"] != nil })
            #expect(server.requests.allSatisfy { $0.headers["authorization"] == "Bearer test-token" })
            #expect(server.requests.filter { !$0.isWatch && $0.path == Backend.podsPath }.count == 2)
        }
    }
}
#endif
