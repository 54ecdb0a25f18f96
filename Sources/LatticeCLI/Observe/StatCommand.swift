import ArgumentParser
import Foundation

/// `lattice stat [WORKLOAD]`: per-workload traffic of a local mesh, read from its proxies' admin endpoints over a
/// short window (like `linkerd viz stat`). Proxies it cannot reach are listed as such, never skipped silently.
struct StatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat",
        abstract: "Success rate, RPS, latency and mTLS share per workload of a local mesh (lattice demo)."
    )

    @Argument(help: "Only this workload.")
    var workload: String?

    @OptionGroup var mesh: MeshOptions

    @Option(help: "Seconds between the two scrapes the rates are computed from.")
    var window: Int = 2

    func validate() throws {
        guard (1...300).contains(self.window) else { throw ValidationError("--window must be between 1 and 300 seconds") }
    }

    func run() async throws {
        let manifest = try self.mesh.manifest()
        var workloads = manifest.workloads
        if let name = self.workload {
            workloads = workloads.filter { $0.name == name }
            guard !workloads.isEmpty else {
                throw CLIError("no workload '\(name)' in this mesh; it has: \(manifest.workloads.map(\.name).joined(separator: ", "))")
            }
        }
        var before: [String: ProxyScrape] = [:]
        for w in workloads { before[w.name] = await ProxyScraper.scrape(admin: w.proxy?.admin ?? "") }
        try await Task.sleep(for: .seconds(self.window))
        var lines: [WorkloadStatLine] = []
        for w in workloads {
            let after = await ProxyScraper.scrape(admin: w.proxy?.admin ?? "")
            lines.append(WorkloadStatLine(name: w.name, meshed: w.meshed, before: before[w.name], after: after, seconds: Double(self.window)))
        }
        if self.mesh.json {
            let rows = lines.map { line -> [String: String] in
                Dictionary(uniqueKeysWithValues: zip(WorkloadStatLine.header.map { $0.lowercased() }, line.cells))
            }
            let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(WorkloadStatLine.table(lines))
        }
        let unreachable = lines.filter { !$0.reachable }.map(\.name)
        if !unreachable.isEmpty {
            FileHandle.standardError.write(Data("cannot reach the proxy admin endpoint of: \(unreachable.joined(separator: ", "))\n".utf8))
            throw ExitCode(1)
        }
    }
}
