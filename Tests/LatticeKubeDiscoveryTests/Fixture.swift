import Foundation
import LatticeKube
import Testing

/// A failure in the test harness itself.
struct FixtureError: Error, CustomStringConvertible {
    var message: String

    var description: String {
        self.message
    }
}

/// One line of a recorded watch stream: an event, or the `Status` of an `ERROR` line.
enum WatchRecord<Object> {
    case event(WatchEvent<Object>)
    case error(KubernetesStatus)
}

extension WatchRecord: Sendable where Object: Sendable {}

/// The recorded API bodies in `Fixtures/`: lists as `GET` serves them, watch streams as JSON lines.
enum Fixture {
    /// The fixture's bytes; a missing fixture is a broken test target, so it traps.
    static func data(_ name: String) -> Data {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"),
            let data = try? Data(contentsOf: url)
        else {
            fatalError("missing fixture \(name)")
        }
        return data
    }

    /// A list fixture (`PodList`, …) decoded as the client decodes it.
    static func list<Item: Decodable>(_ name: String, of type: Item.Type) throws -> KubernetesList<Item> {
        try JSONDecoder().decode(KubernetesList<Item>.self, from: self.data(name))
    }

    /// The lines of a watch fixture, each as it is on the wire.
    static func lines(_ name: String) -> [Data] {
        self.data(name).split(separator: UInt8(ascii: "\n")).filter { !$0.isEmpty }.map { Data($0) }
    }

    /// A watch fixture decoded line by line.
    static func watch<Object: Decodable>(_ name: String, of type: Object.Type) throws -> [WatchRecord<Object>] {
        try self.lines(name).map { try self.decodeLine($0, as: type) }
    }

    /// One watch line: `{"type":"ADDED","object":{…}}`.
    static func decodeLine<Object: Decodable>(_ line: Data, as type: Object.Type) throws -> WatchRecord<Object> {
        try JSONDecoder().decode(RecordedLine<Object>.self, from: line).record
    }

    /// The events of a watch fixture, which must have no `ERROR` line.
    static func events<Object: Decodable>(_ name: String, of type: Object.Type) throws -> [WatchEvent<Object>] {
        try self.watch(name, of: type).map { record in
            guard case .event(let event) = record else { throw FixtureError(message: "\(name) has an ERROR line") }
            return event
        }
    }
}

private struct RecordedLine<Object: Decodable>: Decodable {
    private struct Bookmark: Decodable {
        var metadata: ObjectMeta
    }

    private enum CodingKeys: String, CodingKey {
        case type
        case object
    }

    var record: WatchRecord<Object>

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .type) {
        case "ADDED": self.record = .event(.added(try container.decode(Object.self, forKey: .object)))
        case "MODIFIED": self.record = .event(.modified(try container.decode(Object.self, forKey: .object)))
        case "DELETED": self.record = .event(.deleted(try container.decode(Object.self, forKey: .object)))
        case "BOOKMARK":
            let bookmark = try container.decode(Bookmark.self, forKey: .object)
            self.record = .event(.bookmark(resourceVersion: bookmark.metadata.resourceVersion ?? ""))
        case "ERROR": self.record = .error(try container.decode(KubernetesStatus.self, forKey: .object))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: "unknown type \(other)")
        }
    }
}

/// Polls `condition` until it holds or `timeout` passes; records an issue on timeout.
/// Generous: the whole suite runs in parallel on two cores, and tests that wait on child processes hold threads.
func eventually(
    timeout: Duration = .seconds(60),
    _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
