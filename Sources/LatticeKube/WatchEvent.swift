/// One change from a watch.
///
/// The API's `ERROR` events are not cases: they end the stream with a ``KubernetesError`` (code
/// ``KubernetesError/Code/gone`` when the resourceVersion is too old), so a consumer cannot forget to handle them.
public enum WatchEvent<Object> {
    /// An object was created (or existed when a watch without resourceVersion started).
    case added(Object)
    /// An object changed.
    case modified(Object)
    /// An object was deleted; this is its last state.
    case deleted(Object)
    /// Nothing changed, but the collection is now at this resourceVersion: resume from it.
    case bookmark(resourceVersion: String)

    /// The object of an added, modified or deleted event; `nil` for a bookmark.
    public var object: Object? {
        switch self {
        case .added(let object), .modified(let object), .deleted(let object): object
        case .bookmark: nil
        }
    }
}

extension WatchEvent: Sendable where Object: Sendable {}
extension WatchEvent: Equatable where Object: Equatable {}
extension WatchEvent: Hashable where Object: Hashable {}

/// One line of a watch stream, decoded: an event, or the `Status` of an `ERROR` event.
enum WatchLine<Object: Decodable>: Decodable {
    case event(WatchEvent<Object>)
    case error(KubernetesStatus)

    private enum CodingKeys: String, CodingKey {
        case type
        case object
    }

    /// The object of a `BOOKMARK` event: only its metadata is filled in.
    private struct Bookmark: Decodable {
        var metadata: ObjectMeta
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "ADDED":
            self = .event(.added(try container.decode(Object.self, forKey: .object)))
        case "MODIFIED":
            self = .event(.modified(try container.decode(Object.self, forKey: .object)))
        case "DELETED":
            self = .event(.deleted(try container.decode(Object.self, forKey: .object)))
        case "BOOKMARK":
            let bookmark = try container.decode(Bookmark.self, forKey: .object)
            guard let resourceVersion = bookmark.metadata.resourceVersion else {
                throw DecodingError.dataCorruptedError(
                    forKey: .object,
                    in: container,
                    debugDescription: "BOOKMARK event without metadata.resourceVersion"
                )
            }
            self = .event(.bookmark(resourceVersion: resourceVersion))
        case "ERROR":
            self = .error(try container.decode(KubernetesStatus.self, forKey: .object))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type,
                in: container,
                debugDescription: "unknown watch event type \"\(type)\""
            )
        }
    }
}
