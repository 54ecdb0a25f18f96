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

/// The real Kubernetes schemas, through PyPI's `kubernetes-validate` (strict: unknown fields are errors).
enum KubernetesSchemas {
    /// Validates several objects in one run; returns the failure lines (empty when every object is valid).
    static func validate(_ objects: [JSONValue], version: String) throws -> [String] {
        guard !objects.isEmpty else { return [] }
        let check = try ProcessRunner.run("/usr/bin/env", ["python3", "-c", "import kubernetes_validate"])
        try #require(
            check.status == 0,
            "the Python module kubernetes_validate is missing: pip install kubernetes-validate (scripts/test installs it)"
        )
        let directory = try TestFiles.makeDirectory("lattice-kv")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/objects.yaml"
        try TestFiles.write(objects.map(\.yamlText).joined(separator: "---\n"), to: path)
        let result = try ProcessRunner.run(
            "/usr/bin/env",
            ["python3", "-m", "kubernetes_validate", "--strict", "--quiet", "-k", version, path],
            timeout: 120
        )
        if result.status == 0 { return [] }
        let lines = (result.stdout + result.stderr).split(separator: "\n").filter {
            $0.hasPrefix("ERROR") || $0.hasPrefix("WARN") || $0.contains("Error")
        }
        return lines.isEmpty ? ["kubernetes-validate exited \(result.status): \(result.stderr.suffix(2000))"] : lines.map(String.init)
    }
}
