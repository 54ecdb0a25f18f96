import LatticeKube
import Testing

@Suite(.timeLimit(.minutes(1)))
struct WatchTests {
    /// Collects every event of a watch, and the error that ended it, if any.
    private func collect(
        _ stream: AsyncThrowingStream<WatchEvent<Pod>, any Error>
    ) async -> (events: [WatchEvent<Pod>], error: (any Error)?) {
        var events: [WatchEvent<Pod>] = []
        do {
            for try await event in stream {
                events.append(event)
            }
            return (events, nil)
        } catch {
            return (events, error)
        }
    }

    @Test(arguments: [7, 100, 100_000])
    func decodesTheEventsOfAWatchStream(chunkSize: Int) async throws {
        try await withFakeAPI(handler: { _ in .watchStream("watch-pods.jsonl", chunkSize: chunkSize) }) {
            server,
            client in
            let (events, error) = await self.collect(
                client.watch(
                    "/api/v1/namespaces/default/pods",
                    as: Pod.self,
                    resourceVersion: "48251",
                    options: WatchOptions(labelSelector: "app=web", timeout: .seconds(300))
                )
            )
            #expect(error == nil)
            try #require(events.count == 4)

            guard case .added(let added) = events[0] else {
                Issue.record("expected ADDED, got \(events[0])")
                return
            }
            #expect(added.metadata.name == "web-7d4b9c6f5-z7n4p")
            #expect(added.status?.phase == "Pending")
            #expect(added.status?.podIP == nil)
            guard case .modified(let modified) = events[1] else {
                Issue.record("expected MODIFIED, got \(events[1])")
                return
            }
            #expect(modified.metadata.resourceVersion == "48265")
            #expect(modified.status?.podIP == "10.244.1.18")
            #expect(events[2] == .bookmark(resourceVersion: "48280"))
            #expect(events[2].object == nil)
            guard case .deleted(let deleted) = events[3] else {
                Issue.record("expected DELETED, got \(events[3])")
                return
            }
            #expect(deleted.metadata.name == "web-7d4b9c6f5-q9k3m")

            let request = try #require(server.requests.first)
            #expect(request.method == "GET")
            #expect(request.path == "/api/v1/namespaces/default/pods")
            #expect(request.headers["authorization"] == "Bearer test-token")
            #expect(
                request.query == [
                    "watch": "1",
                    "resourceVersion": "48251",
                    "allowWatchBookmarks": "true",
                    "labelSelector": "app=web",
                    "timeoutSeconds": "300",
                ]
            )
        }
    }

    @Test
    func anErrorEventWith410EndsTheStreamAsGone() async throws {
        try await withFakeAPI(handler: { _ in .watchStream("watch-pods-expired.jsonl", chunkSize: 64) }) { _, client in
            let (events, error) = await self.collect(
                client.watch("/api/v1/pods", as: Pod.self, resourceVersion: "48213")
            )
            #expect(events.count == 1)
            #expect(events.first?.object?.metadata.name == "web-7d4b9c6f5-z7n4p")
            let kubernetesError = try #require(error as? KubernetesError)
            #expect(kubernetesError == KubernetesError(code: .gone, reason: ""))
            #expect(kubernetesError.httpStatus == 410)
            #expect(kubernetesError.status?.reason == "Expired")
            #expect(kubernetesError.reason.contains("too old resource version: 48213 (48290)"))
        }
    }

    @Test
    func aWatchWithoutResourceVersionOrBookmarksSendsNeither() async throws {
        try await withFakeAPI(handler: { _ in .watchStream("watch-pods.jsonl", chunkSize: 1_000) }) { server, client in
            _ = await self.collect(
                client.watch(
                    "/api/v1/pods",
                    as: Pod.self,
                    resourceVersion: nil,
                    options: WatchOptions(allowsBookmarks: false)
                )
            )
            let request = try #require(server.requests.first)
            #expect(request.query == ["watch": "1"])
        }
    }

    @Test
    func aFailedWatchRequestEndsTheStreamWithTheTypedError() async throws {
        try await withFakeAPI(handler: { _ in .fixture("status-403.json", status: 403) }) { _, client in
            let (events, error) = await self.collect(client.watch("/api/v1/pods", as: Pod.self, resourceVersion: nil))
            #expect(events.isEmpty)
            #expect(error as? KubernetesError == KubernetesError(code: .forbidden, reason: ""))
        }
    }

    @Test
    func anUndecodableLineEndsTheStreamWithADecodingError() async throws {
        let body =
            #"{"type":"ADDED","object":{"metadata":{"name":"a"}}}"# + "\n" + #"{"type":"SURPRISE","object":{}}"# + "\n"
        try await withFakeAPI(handler: { _ in .json(body) }) { _, client in
            let (events, error) = await self.collect(client.watch("/api/v1/pods", as: Pod.self, resourceVersion: nil))
            #expect(events.count == 1)
            let kubernetesError = try #require(error as? KubernetesError)
            #expect(kubernetesError.code == .decoding)
            #expect(kubernetesError.reason.contains("SURPRISE"))
        }
    }

    @Test
    func theLastLineNeedsNoTrailingNewline() async throws {
        let body = #"{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"9"}}}"#
        try await withFakeAPI(handler: { _ in .json(body) }) { _, client in
            let (events, error) = await self.collect(client.watch("/api/v1/pods", as: Pod.self, resourceVersion: "1"))
            #expect(error == nil)
            #expect(events == [.bookmark(resourceVersion: "9")])
        }
    }

    @Test
    func stoppingIterationEndsTheWatch() async throws {
        try await withFakeAPI(handler: { _ in .watchStream("watch-pods.jsonl", chunkSize: 50) }) { _, client in
            var first: WatchEvent<Pod>?
            for try await event in client.watch("/api/v1/pods", as: Pod.self, resourceVersion: nil) {
                first = event
                break
            }
            #expect(first?.object?.metadata.name == "web-7d4b9c6f5-z7n4p")
        }
    }
}
