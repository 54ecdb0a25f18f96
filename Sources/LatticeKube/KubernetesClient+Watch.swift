import Foundation
import NIOCore
import NIOFoundationCompat

extension KubernetesClient {
    /// How long past the server-side watch timeout the client waits before giving up on the connection.
    static let watchDeadlineSlack: Duration = .seconds(30)
    /// The client-side limit for a watch without ``WatchOptions/timeout``; the server ends watches well before.
    static let defaultWatchDeadline: Duration = .seconds(2 * 60 * 60)

    public func watch<Object: Decodable & Sendable>(
        _ path: String,
        as type: Object.Type,
        resourceVersion: String?,
        options: WatchOptions
    ) -> AsyncThrowingStream<WatchEvent<Object>, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: WatchEvent<Object>.self)
        // Bridge code: an AsyncThrowingStream has no producer of its own, so this task reads the response and feeds
        // the stream. It is the stream's only owner: it ends when the watch ends, and `onTermination` cancels it when
        // the consumer stops iterating (which cancels the HTTP request).
        let task = Task {
            do {
                try await self.runWatch(path, as: type, resourceVersion: resourceVersion, options: options) { event in
                    continuation.yield(event)
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in
            task.cancel()
        }
        return stream
    }

    /// Performs one watch request, calling `yield` for each event until the server ends the response.
    ///
    /// - Throws: ``KubernetesError`` for a failed request, a watch `ERROR` event (``KubernetesError/Code/gone`` for
    ///   410) or an undecodable line; `CancellationError` if cancelled.
    func runWatch<Object: Decodable>(
        _ path: String,
        as type: Object.Type,
        resourceVersion: String?,
        options: WatchOptions,
        yield: (WatchEvent<Object>) -> Void
    ) async throws {
        let request = "GET \(path) (watch)"
        var query: [(String, String)] = [("watch", "1")]
        if let resourceVersion {
            query.append(("resourceVersion", resourceVersion))
        }
        if options.allowsBookmarks {
            query.append(("allowWatchBookmarks", "true"))
        }
        if let labelSelector = options.labelSelector {
            query.append(("labelSelector", labelSelector))
        }
        if let fieldSelector = options.fieldSelector {
            query.append(("fieldSelector", fieldSelector))
        }
        let deadline: Duration
        if let timeout = options.timeout {
            query.append(("timeoutSeconds", String(max(1, timeout.components.seconds))))
            deadline = timeout + Self.watchDeadlineSlack
        } else {
            deadline = Self.defaultWatchDeadline
        }

        let response = try await self.send(
            .get,
            path,
            query: query,
            body: nil,
            deadline: .now() + TimeAmount(deadline)
        )
        guard (200..<300).contains(response.status.code) else {
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: 1024 * 1024)
            } catch {
                throw Self.transportError(error, request: request)
            }
            throw KubernetesError.response(
                httpStatus: Int(response.status.code),
                reasonPhrase: response.status.reasonPhrase,
                retryAfterHeader: response.headers.first(name: "Retry-After"),
                body: body,
                request: request
            )
        }

        self.logger.debug("watch started", metadata: ["lattice.kube.request": "\(request)"])
        var splitter = WatchLineSplitter()
        let decoder = JSONDecoder()
        do {
            for try await chunk in response.body {
                for line in try splitter.append(chunk) {
                    yield(try Self.decodeWatchLine(line, as: type, decoder: decoder, request: request))
                }
            }
        } catch let error as KubernetesError {
            throw error
        } catch {
            throw Self.transportError(error, request: request)
        }
        if let line = splitter.finish() {
            yield(try Self.decodeWatchLine(line, as: type, decoder: decoder, request: request))
        }
        self.logger.debug("watch ended by the server", metadata: ["lattice.kube.request": "\(request)"])
    }

    /// Decodes one line of a watch stream; an `ERROR` event becomes a thrown ``KubernetesError``.
    static func decodeWatchLine<Object: Decodable>(
        _ line: ByteBuffer,
        as type: Object.Type,
        decoder: JSONDecoder,
        request: String
    ) throws -> WatchEvent<Object> {
        let decoded: WatchLine<Object>
        do {
            decoded = try decoder.decode(WatchLine<Object>.self, from: line)
        } catch {
            throw KubernetesError(code: .decoding, reason: "\(request): cannot decode a watch event: \(error)")
        }
        switch decoded {
        case .event(let event):
            return event
        case .error(let status):
            throw KubernetesError.watchError(status, request: request)
        }
    }
}
