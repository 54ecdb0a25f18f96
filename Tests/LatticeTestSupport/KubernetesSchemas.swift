import Foundation
import Testing

/// The real Kubernetes schemas, through PyPI's `kubernetes-validate` (strict: unknown fields are errors).
public enum KubernetesSchemas {
    /// Validates several YAML documents in one run; returns the failure lines (empty when every object is valid).
    public static func validate(yamlDocuments: [String], version: String) throws -> [String] {
        guard !yamlDocuments.isEmpty else { return [] }
        let check = try ProcessRunner.run("/usr/bin/env", ["python3", "-c", "import kubernetes_validate"])
        try #require(
            check.status == 0,
            "the Python module kubernetes_validate is missing: pip install kubernetes-validate (scripts/test installs it)"
        )
        let directory = try TestFiles.makeDirectory("lattice-kv")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/objects.yaml"
        try TestFiles.write(yamlDocuments.joined(separator: "---\n"), to: path)
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
