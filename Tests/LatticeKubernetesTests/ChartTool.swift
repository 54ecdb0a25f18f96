import Foundation
import LatticeManifests
import LatticeTestSupport

/// Runs scripts/chart-tool.py (Helm's engine through helm-python-sdk, and kubernetes-validate) in a scratch
/// directory that is removed afterwards, even when the test fails.
struct ChartTool {
    let directory: String

    static func withTool<T>(_ body: (ChartTool) async throws -> T) async throws -> T {
        try await TestFiles.withDirectory { directory in try await body(ChartTool(directory: directory)) }
    }

    struct Failure: Error, CustomStringConvertible {
        let status: Int32
        let stderr: String
        var description: String { "chart-tool exited \(self.status): \(self.stderr)" }
    }

    func run(_ arguments: [String]) throws -> String {
        guard let python = ProcessRunner.which("python3") else {
            throw TestFailure("python3 is not installed: apt-get install python3, then pip install kubernetes-validate helm-python-sdk")
        }
        let result = try ProcessRunner.run(python, [Repository.path("scripts/chart-tool.py")] + arguments, timeout: 120)
        if result.status == 4 {
            throw TestFailure("\(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)) (scripts/test installs them)")
        }
        guard result.status == 0 else { throw Failure(status: result.status, stderr: result.stderr) }
        return result.stdout
    }

    /// Writes `text` to a fresh file (0600: values hold the issuer key).
    func file(_ name: String, _ text: String) throws -> String {
        let path = "\(self.directory)/\(name)"
        try SecretFiles.write(text, to: path)
        return path
    }

    /// The chart rendered with `values`, normalized: "Kind/namespace/name" → object.
    func render(chart: String, values: ValueTree, name: String, namespace: String) throws -> [String: Any] {
        let path = try self.file("values-\(UUID().uuidString).json", values.json)
        return try Self.objects(
            try self.run(["render", Repository.path("charts/\(chart)"), path, "--name", name, "--namespace", namespace])
        )
    }

    /// `lattice install`'s manifests in the same normal form.
    func normalize(_ manifests: [Manifest]) throws -> [String: Any] {
        let path = try self.file("manifests-\(UUID().uuidString).yaml", manifests.yaml)
        return try Self.objects(try self.run(["normalize", path]))
    }

    static func objects(_ json: String) throws -> [String: Any] {
        guard let objects = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw TestFailure("chart-tool printed no object map: \(json.prefix(200))")
        }
        return objects
    }

    static func canonical(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .prettyPrinted, .fragmentsAllowed]) else {
            return "\(value)"
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Every difference between two normalized renders, as readable lines; empty when they are the same.
    static func differences(chart: [String: Any], install: [String: Any]) -> [String] {
        var lines: [String] = []
        for key in Set(chart.keys).union(install.keys).sorted() {
            switch (chart[key], install[key]) {
            case (nil, _?): lines.append("only lattice install renders \(key)")
            case (_?, nil): lines.append("only the chart renders \(key)")
            case (let a?, let b?):
                let (ca, cb) = (self.canonical(a), self.canonical(b))
                if ca != cb { lines.append("\(key) differs:\n--- chart\n\(ca)\n--- lattice install\n\(cb)") }
            default: break
            }
        }
        return lines
    }
}

extension ValueTree {
    /// The tree as JSON (for Helm's values).
    var json: String {
        ChartTool.canonical(self.any)
    }

    var any: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .int(let i): return i
        case .double(let d): return d
        case .string(let s): return s
        case .array(let items): return items.map(\.any)
        case .object(let members): return Dictionary(members.map { ($0.key, $0.value.any) }, uniquingKeysWith: { $1 })
        }
    }
}
