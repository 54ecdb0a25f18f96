import ArgumentParser
import Foundation
import UnixSignals

/// `lattice tap WORKLOAD`: the workload's live requests, inbound and outbound, with whether each went over mTLS
/// (like `linkerd viz tap`), read from its proxy's admin endpoint (`/tap`).
struct TapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tap",
        abstract: "Show a workload's live requests (tls=true|false) from its proxy, until Ctrl-C."
    )

    @Argument(help: "The workload.")
    var workload: String

    @OptionGroup var mesh: MeshOptions

    @Option(help: "Stop after this many requests (0: until Ctrl-C).")
    var maxRequests: Int = 0

    @Option(help: "Stop after this many seconds (0: until Ctrl-C).")
    var duration: Int = 0

    func validate() throws {
        guard self.maxRequests >= 0, self.duration >= 0 else { throw ValidationError("--max-requests and --duration must be 0 or more") }
    }

    func run() async throws {
        let manifest = try self.mesh.manifest()
        guard let workload = manifest.workloads.first(where: { $0.name == self.workload }) else {
            throw CLIError("no workload '\(self.workload)' in this mesh; it has: \(manifest.workloads.map(\.name).joined(separator: ", "))")
        }
        guard let admin = workload.proxy?.admin else { throw CLIError("\(self.workload) has no proxy to tap") }
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let json = self.mesh.json
        let limit = self.maxRequests
        let deadline = self.duration > 0 ? ContinuousClock.now + .seconds(self.duration) : nil
        let tapping = Task {
            var since: UInt64?
            var shown = 0
            var failures = 0
            while !Task.isCancelled {
                do {
                    let response = try await AdminProbe.get(admin, since.map { "/tap?since=\($0)" } ?? "/tap")
                    failures = 0
                    for line in response.body.split(separator: "\n") {
                        guard let data = line.data(using: .utf8),
                            let event = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
                        else { continue }
                        if let latest = event["latest"] as? Int {
                            // Where this tap starts: only requests from now on.
                            since = UInt64(latest)
                            continue
                        }
                        guard let seq = (event["seq"] as? Int).map(UInt64.init) else { continue }
                        since = max(since ?? 0, seq)
                        print(json ? String(line) : Self.line(event))
                        shown += 1
                        if limit > 0 && shown >= limit { return }
                    }
                } catch {
                    failures += 1
                    if failures == 3 {
                        FileHandle.standardError.write(Data("cannot reach \(self.workload)'s proxy admin endpoint \(admin): \(error)\n".utf8))
                    }
                }
                if let deadline, ContinuousClock.now >= deadline { return }
                try? await Task.sleep(for: .milliseconds(300))
            }
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await tapping.value }
            group.addTask {
                for await _ in signals { break }
                tapping.cancel()
            }
            await group.next()
            group.cancelAll()
            tapping.cancel()
        }
    }

    static func line(_ e: [String: Any]) -> String {
        let direction = (e["direction"] as? String) == "inbound" ? "in " : "out"
        let tls = (e["tls"] as? String) == "true" ? "tls=true " : "tls=false"
        let peer: String
        if direction == "in " {
            peer = "src=\((e["client_id"] as? String) ?? "(unmeshed)")"
        } else {
            peer = "dst=\((e["server_id"] as? String) ?? (e["target_addr"] as? String) ?? "?")"
        }
        var out = "req \(direction) \(tls) :method=\(e["method"] ?? "?") :authority=\((e["authority"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? "-") :path=\(e["path"] ?? "?") \(peer) :status=\(e["status"] ?? "?")"
        if let grpc = e["grpc_status"] { out += " grpc-status=\(grpc)" }
        if let latency = e["latency_us"] as? Int { out += String(format: " latency=%.1fms", Double(latency) / 1000) }
        if let error = e["error"] { out += " error=\(error)" }
        return out
    }
}
