import Foundation
import LatticeInjector
import LatticeTestSupport
import Testing

/// Fixture files (copied into the test bundle) and goldens (compared against the bundle's copy, rewritten in the
/// source tree with `LATTICE_UPDATE_GOLDENS=1`).
enum Fixtures {
    static var directory: String {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path
    }

    /// The source tree's Fixtures folder (where regenerated goldens go).
    static var sourceDirectory: String {
        URL(filePath: #filePath).deletingLastPathComponent().appending(path: "Fixtures").path
    }

    static func text(_ name: String) throws -> String {
        try TestFiles.read("\(self.directory)/\(name)")
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(filePath: "\(self.directory)/\(name)")))
    }

    static var isUpdatingGoldens: Bool {
        ProcessInfo.processInfo.environment["LATTICE_UPDATE_GOLDENS"] == "1"
    }

    /// Expects `actual` to equal the golden file `name`; with `LATTICE_UPDATE_GOLDENS=1`, writes it instead (and the
    /// test still fails, so a regeneration is never mistaken for a pass).
    static func expectGolden(_ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        if self.isUpdatingGoldens {
            let path = "\(self.sourceDirectory)/\(name)"
            try FileManager.default.createDirectory(
                atPath: URL(filePath: path).deletingLastPathComponent().path,
                withIntermediateDirectories: true
            )
            try TestFiles.write(actual, to: path)
            Issue.record("golden \(name) rewritten; run again without LATTICE_UPDATE_GOLDENS", sourceLocation: sourceLocation)
            return
        }
        let expected = (try? self.text(name)) ?? "(missing: run with LATTICE_UPDATE_GOLDENS=1 to create it)"
        #expect(actual == expected, "golden \(name) differs", sourceLocation: sourceLocation)
    }
}

extension KubernetesSchemas {
    /// Validates several objects in one run; returns the failure lines (empty when every object is valid).
    static func validate(_ objects: [JSONValue], version: String) throws -> [String] {
        try self.validate(yamlDocuments: objects.map(\.yamlText), version: version)
    }
}
