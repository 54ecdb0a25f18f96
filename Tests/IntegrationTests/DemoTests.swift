import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LatticeAPI
import LatticeTestSupport
import Testing

/// `lattice demo` as a person runs it: a real process starting a real controller, proxies and sample apps.
@Suite("lattice demo", .serialized)
struct DemoTests {
    @Test("lattice demo --once runs the whole story and passes")
    func demoOnce() async throws {
        try await TestFiles.withDirectory { directory in
            let result = try ProcessRunner.run(
                ProcessRunner.executable("lattice"),
                ["demo", "--once", "--state", "\(directory)/state"],
                timeout: 240
            )
            #expect(result.status == 0, "stdout:\n\(result.stdout)\nstderr:\n\(result.stderr)")
            #expect(result.stdout.contains("✓ demo passed"))
            #expect(result.stdout.contains("summary: 8 of 8 steps held"))
            // The manifest names everything it started; nothing is left running.
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(filePath: "\(directory)/state/demo.json"))) as? [String: Any]
            let workloads = manifest?["workloads"] as? [[String: Any]] ?? []
            #expect(workloads.count == 4)
            for workload in workloads {
                let proxy = workload["proxy"] as? [String: Any]
                let pid = proxy?["pid"] as? Int32 ?? 0
                #expect(pid > 0 && kill(pid, 0) != 0, "\(workload["name"] ?? "?")'s proxy is still running after the demo exited")
            }
        }
    }

    @Test("check, stat, edges, tap on a running demo; controller away and back; Prometheus sees ~100% tls=true; a lost proxy is named")
    func controllerAwayAndPrometheus() async throws {
        try await TestFiles.withDirectory { directory in
            let state = "\(directory)/state"
            let demo = try BackgroundProcess(
                ProcessRunner.executable("lattice"),
                ["demo", "--state", state, "--rps", "20", "--refresh", "5"],
                logPath: "\(directory)/demo.log"
            )
            defer {
                // SIGTERM: the demo stops everything it started.
                demo.stop(grace: 20)
            }
            let running = await eventually(timeout: .seconds(180), interval: .milliseconds(200)) {
                demo.log.contains("The mesh keeps running")
            }
            try #require(running, "the demo did not get through its story:\n\(demo.log)")
            #expect(!demo.log.contains("✗"), "a story step failed:\n\(demo.log)")
            let manifest = try DemoManifestFile.read("\(state)/demo.json")
            let traffic = try #require(manifest.workloads.first { $0.name == "traffic" }?.proxy)
            let api = try #require(manifest.workloads.first { $0.name == "api" }?.proxy)
            let webOutbound = try #require(traffic.outbound["web"])
            let lattice = ProcessRunner.executable("lattice")

            // The operator's commands against the running mesh.
            let check = try ProcessRunner.run(lattice, ["check", "--state", state], timeout: 60)
            #expect(check.status == 0 && check.stdout.contains("Status check results are √"), "check:\n\(check.stdout)\n\(check.stderr)")
            let checkJSON = try ProcessRunner.run(lattice, ["check", "--state", state, "--output", "json"], timeout: 60)
            let checks = try JSONSerialization.jsonObject(with: Data(checkJSON.stdout.utf8)) as? [[String: Any]] ?? []
            #expect(checks.count >= 14 && checks.allSatisfy { $0["passed"] as? Bool == true }, "\(checkJSON.stdout)")
            let stat = try ProcessRunner.run(lattice, ["stat", "--state", state, "--output", "json", "--window", "2"], timeout: 60)
            let rows = try JSONSerialization.jsonObject(with: Data(stat.stdout.utf8)) as? [[String: String]] ?? []
            #expect(rows.count == 4, "stat: \(stat.stdout) \(stat.stderr)")
            #expect(rows.first { $0["name"] == "web" }?["mtls"] == "100.00%", "stat: \(stat.stdout)")
            let edges = try ProcessRunner.run(lattice, ["edges", "--state", state, "--output", "json"], timeout: 60)
            let edgeRows = try JSONSerialization.jsonObject(with: Data(edges.stdout.utf8)) as? [[String: String]] ?? []
            #expect(edgeRows.contains { $0["src"] == "traffic" && $0["dst"] == "web" && $0["secured"] == "√" }, "edges: \(edges.stdout)")
            #expect(edgeRows.contains { $0["src"] == "web" && $0["dst"] == "api" && $0["secured"] == "√" }, "edges: \(edges.stdout)")
            let tap = try ProcessRunner.run(lattice, ["tap", "web", "--state", state, "--output", "json", "--max-requests", "3", "--duration", "30"], timeout: 60)
            let tapped = tap.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(tapped.count == 3 && tapped.allSatisfy { $0["tls"] as? String == "true" }, "tap: \(tap.stdout) \(tap.stderr)")

            // A real Prometheus scrapes every proxy; the runbook's query comes back ~100 %.
            let prometheus = try PrometheusServer(directory: directory, targets: manifest.workloads.compactMap { $0.proxy?.admin })
            defer { prometheus.stop() }
            var share: Double?
            let answered = await eventually(timeout: .seconds(60), interval: .milliseconds(500)) {
                share = prometheus.query(#"sum(request_total{direction="inbound",tls="true"}) / sum(request_total{direction="inbound"})"#)
                return share != nil
            }
            try #require(answered, "Prometheus never answered the query; its log:\n\(prometheus.log)")
            #expect((share ?? 0) >= 0.95, "tls=\"true\" share \(share ?? -1)")

            // The controller goes away (SIGKILL, as when its node dies): proxies keep their last answers.
            kill(manifest.controller.pid, SIGKILL)
            let disconnected = await eventually(timeout: .seconds(10)) {
                Self.metric(api.admin, "lattice_discovery_connected") == 0
            }
            #expect(disconnected, "api's proxy still reports a discovery connection")
            for i in 0..<10 {
                let response = try Curl.request("http://\(webOutbound)/item/away-\(i)")
                #expect(response.status == 200, "request \(i) with the controller away: \(response.status) \(response.body)")
            }

            // It comes back on the same address: streams reopen, and a registry change reaches the proxies again.
            let controller = try BackgroundProcess(
                ProcessRunner.executable("lattice-controller"),
                [
                    "--identity-addr", manifest.controller.api, "--admin-addr", "127.0.0.1:0",
                    "--issuer-certificate", "\(state)/issuer.crt", "--issuer-key", "\(state)/issuer.key",
                    "--trust-anchors", "\(state)/ca.crt", "--tokens-file", "\(state)/tokens.txt",
                    "--registry", "\(state)/registry.yaml", "--reload-interval", "200ms",
                    "--cluster-networks", "127.0.0.0/8,198.51.100.0/24",
                ],
                logPath: "\(directory)/controller-again.log"
            )
            defer { controller.stop() }
            let reconnected = await eventually(timeout: .seconds(20), interval: .milliseconds(100)) {
                manifest.workloads.allSatisfy { Self.metric($0.proxy!.admin, "lattice_discovery_connected") == 1 }
            }
            #expect(reconnected, "not every proxy reconnected:\n\(controller.log)")
            // The demo left api under cluster-authenticated: a plaintext call is refused. Back to audit, it passes.
            #expect(try await Self.plaintextLookup(api.inbound) == "permissionDenied")
            let registry = try TestFiles.read("\(state)/registry.yaml")
            try TestFiles.write(
                registry.replacingOccurrences(of: "config.lattice.io/default-inbound-policy: cluster-authenticated", with: "config.lattice.io/default-inbound-policy: audit"),
                to: "\(state)/registry.yaml"
            )
            let opened = await eventually(timeout: .seconds(5), interval: .milliseconds(100)) {
                (try? await Self.plaintextLookup(api.inbound)) == "ok"
            }
            #expect(opened, "the policy change did not reach api's proxy within 5 s")
            for i in 0..<5 {
                #expect(try Curl.request("http://\(webOutbound)/item/back-\(i)").status == 200)
            }

            // A proxy gone: check fails and names it; stat says what it can't reach.
            let web = try #require(manifest.workloads.first { $0.name == "web" }?.proxy)
            kill(web.pid, SIGKILL)
            let failing = try ProcessRunner.run(lattice, ["check", "--state", state], timeout: 60)
            #expect(failing.status != 0 && failing.stdout.contains("web"), "check with web's proxy gone:\n\(failing.stdout)")
            let partial = try ProcessRunner.run(lattice, ["stat", "--state", state, "--window", "1"], timeout: 60)
            #expect(partial.status != 0 && partial.stderr.contains("web"), "stat with web's proxy gone: \(partial.stdout) \(partial.stderr)")
        }
    }

    static func metric(_ admin: String, _ name: String) -> Double? {
        guard let result = try? ProcessRunner.run("/usr/bin/curl", ["-sS", "--max-time", "3", "http://\(admin)/metrics"], timeout: 10)
        else { return nil }
        return result.stdout.split(separator: "\n").first { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
            .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    }

    /// The unmeshed client: plaintext gRPC straight at api's proxy.
    /// "ok", or the gRPC status code's name.
    static func plaintextLookup(_ address: String) async throws -> String {
        let parts = address.split(separator: ":")
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: String(parts[0]), port: Int(parts[1])!),
            transportSecurity: .plaintext
        )
        return try await withGRPCClient(transport: transport) { client in
            var request = Lattice_Demo_V1_LookupRequest()
            request.item = "unmeshed"
            do {
                _ = try await Lattice_Demo_V1_Inventory.Client(wrapping: client).lookup(request)
                return "ok"
            } catch let error as RPCError {
                return "\(error.code)"
            }
        }
    }
}

/// The parts of demo.json the tests read.
struct DemoManifestFile: Decodable {
    struct Controller: Decodable {
        var pid: Int32
        var api: String
        var admin: String
    }

    struct Proxy: Decodable {
        var pid: Int32
        var inbound: String
        var admin: String
        var outbound: [String: String]
    }

    struct Workload: Decodable {
        var name: String
        var identity: String
        var proxy: Proxy?
    }

    var controller: Controller
    var workloads: [Workload]

    static func read(_ path: String) throws -> DemoManifestFile {
        try JSONDecoder().decode(DemoManifestFile.self, from: Data(contentsOf: URL(filePath: path)))
    }
}

/// Debian's Prometheus server scraping the given targets every second.
final class PrometheusServer: @unchecked Sendable {
    let process: BackgroundProcess
    let port: Int

    init(directory: String, targets: [String]) throws {
        self.port = try LoopbackTCP.freePort()
        let config = """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: lattice-proxies
                static_configs:
                  - targets: [\(targets.map { "\"\($0)\"" }.joined(separator: ", "))]
            """
        try TestFiles.write(config, to: "\(directory)/prometheus.yml")
        self.process = try BackgroundProcess(
            "/usr/bin/prometheus",
            [
                "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/tsdb",
                "--web.listen-address=127.0.0.1:\(self.port)",
            ],
            logPath: "\(directory)/prometheus.log"
        )
    }

    var log: String { self.process.log }

    /// An instant query's single value, nil while there is none.
    func query(_ promQL: String) -> Double? {
        guard let result = try? ProcessRunner.run(
            "/usr/bin/curl", ["-sS", "--max-time", "3", "-G", "http://127.0.0.1:\(self.port)/api/v1/query", "--data-urlencode", "query=\(promQL)"],
            timeout: 10
        ), let data = result.stdout.data(using: .utf8),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let results = (json["data"] as? [String: Any])?["result"] as? [[String: Any]],
            let value = results.first?["value"] as? [Any], value.count == 2, let text = value[1] as? String
        else { return nil }
        return Double(text)
    }

    func stop() { self.process.stop() }
}
