import Foundation
import LatticeKube
import Synchronization

/// An in-memory API server for the backend's loops: each collection path answers its lists and watches from scripts
/// of fixture bodies, in order, and records what it was asked.
///
/// A list past the end of its script repeats the last body; a scripted list body of `nil` fails with 403. A watch
/// streams its scripted lines (an `ERROR` line ends it with the error, as the client does); a watch past the end of
/// its script, or whose lines ran out without an error, stays open until its timeout (as the API server ends it) or
/// until it is cancelled.
final class FakeKubernetesAPI: KubernetesAPI {
    struct Call: Sendable, Hashable {
        enum Kind: Sendable, Hashable {
            case list
            case watch
        }

        var kind: Kind
        var path: String
        var resourceVersion: String?
        var allowsBookmarks: Bool
        var timeout: Duration?
    }

    private struct Scripts {
        var lists: [String: [Data?]] = [:]
        var watches: [String: [[Data]]] = [:]
        var calls: [Call] = []
    }

    private let scripts: Mutex<Scripts>

    /// - Parameters:
    ///   - lists: Path → list bodies, one per call (`nil`: 403 Forbidden).
    ///   - watches: Path → watch streams (lines), one per call.
    init(lists: [String: [Data?]], watches: [String: [[Data]]] = [:]) {
        self.scripts = Mutex(Scripts(lists: lists, watches: watches))
    }

    var calls: [Call] {
        self.scripts.withLock { $0.calls }
    }

    func calls(_ kind: Call.Kind, _ path: String) -> [Call] {
        self.calls.filter { $0.kind == kind && $0.path == path }
    }

    func list<Item: Decodable>(_ path: String, of type: Item.Type, options: ListOptions) async throws -> KubernetesList<Item> {
        let body: Data?? = self.scripts.withLock { scripts in
            scripts.calls.append(Call(kind: .list, path: path, allowsBookmarks: false))
            guard var script = scripts.lists[path], let first = script.first else { return .none }
            if script.count > 1 {
                script.removeFirst()
                scripts.lists[path] = script
            }
            return .some(first)
        }
        guard let body else { throw KubernetesError(code: .notFound, reason: "GET \(path): nothing scripted") }
        guard let body else { throw KubernetesError(code: .forbidden, reason: "GET \(path): scripted 403", httpStatus: 403) }
        return try JSONDecoder().decode(KubernetesList<Item>.self, from: body)
    }

    func watch<Object: Decodable & Sendable>(
        _ path: String,
        as type: Object.Type,
        resourceVersion: String?,
        options: WatchOptions
    ) -> AsyncThrowingStream<WatchEvent<Object>, any Error> {
        let lines: [Data] = self.scripts.withLock { scripts in
            scripts.calls.append(
                Call(
                    kind: .watch,
                    path: path,
                    resourceVersion: resourceVersion,
                    allowsBookmarks: options.allowsBookmarks,
                    timeout: options.timeout
                )
            )
            guard var script = scripts.watches[path], !script.isEmpty else { return [] }
            let first = script.removeFirst()
            scripts.watches[path] = script
            return first
        }
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: WatchEvent<Object>.self)
        for line in lines {
            do {
                switch try Fixture.decodeLine(line, as: Object.self) {
                case .event(let event):
                    continuation.yield(event)
                case .error(let status):
                    let code: KubernetesError.Code = status.code == 410 ? .gone : .server
                    continuation.finish(throwing: KubernetesError(code: code, reason: status.message ?? "", httpStatus: status.code, status: status))
                    return stream
                }
            } catch {
                continuation.finish(throwing: error)
                return stream
            }
        }
        // Bridge code (test only): ends the open watch at its timeout, as the API server does.
        let timeout = options.timeout
        let task = Task {
            if let timeout {
                try? await Task.sleep(for: timeout)
                continuation.finish()
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    func createTokenReview(token: String, audiences: [String]) async throws -> TokenReviewStatus {
        throw KubernetesError(code: .forbidden, reason: "not scripted")
    }

    func get<T: Decodable>(_ path: String, as type: T.Type) async throws -> T {
        throw KubernetesError(code: .notFound, reason: "not scripted")
    }

    func serverVersion() async throws -> ServerVersion {
        throw KubernetesError(code: .notFound, reason: "not scripted")
    }
}
