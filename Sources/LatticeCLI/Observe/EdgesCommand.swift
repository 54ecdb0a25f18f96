import ArgumentParser
import Foundation

/// `lattice edges`: who talks to whom and whether it is secured, from every proxy's inbound connection series.
struct EdgesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edges",
        abstract: "List the connections between workloads of a local mesh and whether each is mTLS."
    )

    @OptionGroup var mesh: MeshOptions

    func run() async throws {
        let manifest = try self.mesh.manifest()
        let byIdentity = Dictionary(manifest.workloads.map { ($0.identity, $0.name) }, uniquingKeysWith: { a, _ in a })
        var rows: [[String]] = []
        var unreachable: [String] = []
        for w in manifest.workloads {
            guard let admin = w.proxy?.admin else { continue }
            guard let response = try? await AdminProbe.get(admin, "/metrics"), response.status == 200 else {
                unreachable.append(w.name)
                continue
            }
            var seen: Set<String> = []
            for sample in PrometheusText.parse(response.body)
            where sample.name == "tcp_open_total" && sample.labels["direction"] == "inbound" && sample.value > 0 {
                let client = sample.labels["client_id"] ?? ""
                let secured = sample.labels["tls"] == "true"
                let key = "\(client)|\(secured)"
                guard seen.insert(key).inserted else { continue }
                let source = client.isEmpty ? "(unmeshed)" : (byIdentity[client] ?? "(outside the mesh)")
                let reason = sample.labels["no_tls_reason"].flatMap { $0.isEmpty ? nil : " (\($0))" } ?? (sample.labels["tls"] == "opaque" ? " (app's own TLS)" : "")
                rows.append([source, w.name, client.isEmpty ? "-" : client, w.identity, secured ? "√" : "×\(reason)"])
            }
        }
        let header = ["SRC", "DST", "CLIENT_ID", "SERVER_ID", "SECURED"]
        if self.mesh.json {
            let objects = rows.map { Dictionary(uniqueKeysWithValues: zip(header.map { $0.lowercased() }, $0)) }
            print(String(decoding: try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
        } else {
            let all = [header] + rows
            var widths = Array(repeating: 0, count: header.count)
            for row in all { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
            for row in all {
                print(row.enumerated().map { i, cell in cell.padding(toLength: widths[i] + 2, withPad: " ", startingAt: 0) }.joined())
            }
        }
        if !unreachable.isEmpty {
            FileHandle.standardError.write(Data("cannot reach the proxy admin endpoint of: \(unreachable.joined(separator: ", "))\n".utf8))
            throw ExitCode(1)
        }
    }
}
