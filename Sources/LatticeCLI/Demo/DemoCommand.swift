import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LatticeAPI
import UnixSignals

/// `lattice demo`: a whole mesh on loopback. A trust anchor and issuer (kept in the state folder), the controller
/// with a local registry, and three sample workloads (web → gRPC api → TCP store) each beside its own proxy, plus a
/// meshed traffic client. It runs the runbook's story (meshed traffic, audit, then enforce) and then shows a live
/// table until Ctrl-C; `--once` runs the story, prints a summary and exits 0 only if every step held.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a mesh on loopback: controller, three sample workloads and their proxies, live stats."
    )

    @Option(help: "State folder (certificates, registry, logs, demo.json); reused next time.")
    var state: String = MeshOptions.defaultState

    @Flag(help: "Start over: new trust anchor and issuer.")
    var fresh = false

    @Flag(help: "Run the story once, print a summary, exit 0 only if every step held.")
    var once = false

    @Option(help: "Requests per second of the sample traffic.")
    var rps: Int = 20

    @Option(help: "Seconds between refreshes of the live table.")
    var refresh: Int = 2

    func validate() throws {
        guard (1...2000).contains(self.rps) else { throw ValidationError("--rps must be between 1 and 2000") }
        guard (1...60).contains(self.refresh) else { throw ValidationError("--refresh must be between 1 and 60 seconds") }
    }

    func run() async throws {
        let dir = (self.state as NSString).standardizingPath
        if self.fresh { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let processes = try MeshProcesses(logDirectory: (dir as NSString).appendingPathComponent("logs"))
        let story = DemoStory(directory: dir, processes: processes, rps: self.rps)
        var passed = false
        do {
            try await story.start()
            passed = await story.runStory()
            if self.once {
                story.printSummary()
            } else {
                print("\nThe mesh keeps running; state, logs and demo.json in \(dir). Ctrl-C stops it.\n")
                try await story.showLiveTable(every: self.refresh)
            }
        } catch {
            story.stopTraffic()
            processes.stopAll()
            throw error
        }
        story.stopTraffic()
        processes.stopAll()
        if self.once && !passed { throw ExitCode(1) }
    }
}

/// The demo's steps and the state they share.
final class DemoStory: @unchecked Sendable {
    struct Step {
        var name: String
        var passed: Bool
        var detail: String
    }

    let directory: String
    let processes: MeshProcesses
    let rps: Int
    private(set) var layout: DemoLayout!
    private(set) var manifest: DemoManifest!
    private var steps: [Step] = []
    private var traffic: Task<Void, Never>?
    private let counters = TrafficCounters()

    init(directory: String, processes: MeshProcesses, rps: Int) {
        self.directory = directory
        self.processes = processes
        self.rps = rps
    }

    private func file(_ name: String) -> String { (self.directory as NSString).appendingPathComponent(name) }

    // MARK: Start

    func start() async throws {
        let layout = try DemoLayout.allocate()
        self.layout = layout
        try self.makeCertificates()
        try self.writeTokens(layout)
        try layout.registry(apiPolicy: nil).write(toFile: self.file("registry.yaml"), atomically: true, encoding: .utf8)
        print("== controller (identity, destination, policy) with the local registry \(self.file("registry.yaml"))")
        try? FileManager.default.removeItem(atPath: self.file("controller.json"))
        let controller = try self.processes.start(
            "controller",
            binary: "lattice-controller",
            arguments: [
                "--identity-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
                "--issuer-certificate", self.file("issuer.crt"), "--issuer-key", self.file("issuer.key"),
                "--trust-anchors", self.file("ca.crt"), "--tokens-file", self.file("tokens.txt"),
                "--registry", self.file("registry.yaml"), "--reload-interval", "200ms",
                "--cluster-networks", "127.0.0.0/8,198.51.100.0/24", "--addresses-file", self.file("controller.json"),
            ]
        )
        let addresses = try await self.waitForControllerAddresses(controller)
        print("   API \(addresses.api), admin \(addresses.admin)")
        var workloads: [DemoManifest.Workload] = []
        print("== workloads and their proxies")
        for w in layout.all {
            var app: DemoManifest.App?
            if let port = w.appPort {
                let arguments: [String]
                switch w.name {
                case "store": arguments = ["sample-app", "store", "--listen", "127.0.0.1:\(port)"]
                case "api": arguments = ["sample-app", "api", "--listen", "127.0.0.1:\(port)", "--store", "127.0.0.1:\(w.upstreams[0].local)"]
                default: arguments = ["sample-app", "web", "--listen", "127.0.0.1:\(port)", "--api", "127.0.0.1:\(w.upstreams[0].local)"]
                }
                let started = try self.processes.start(w.name, binary: "lattice", arguments: arguments)
                app = .init(pid: started.process.processIdentifier, address: "127.0.0.1:\(port)", log: started.log)
            }
            let proxy = try self.processes.start("\(w.name)-proxy", binary: "lattice-proxy", arguments: [], environment: self.proxyEnvironment(w, controller: addresses.api))
            workloads.append(
                .init(
                    name: w.name,
                    namespace: DemoLayout.namespace,
                    identity: w.identity,
                    meshed: true,
                    app: app,
                    proxy: .init(
                        pid: proxy.process.processIdentifier,
                        inbound: "127.0.0.1:\(w.proxyInbound)",
                        admin: "127.0.0.1:\(w.proxyAdmin)",
                        outbound: Dictionary(uniqueKeysWithValues: w.upstreams.map { ($0.service, "127.0.0.1:\($0.local)") }),
                        log: proxy.log
                    )
                )
            )
            print("   \(w.name.padding(toLength: 8, withPad: " ", startingAt: 0)) identity \(w.identity)")
        }
        self.manifest = DemoManifest(
            state: self.directory,
            trustAnchors: self.file("ca.crt"),
            issuerCertificate: self.file("issuer.crt"),
            registry: self.file("registry.yaml"),
            controller: .init(pid: controller.process.processIdentifier, api: addresses.api, admin: addresses.admin, identity: "lattice-controller.lattice.\(DemoLayout.domainSuffix)", log: controller.log),
            workloads: workloads
        )
        try self.manifest.write()
        print("   everything it started is in \(self.file("demo.json"))")
    }

    private func makeCertificates() throws {
        let ca = self.file("ca.crt")
        let issuer = self.file("issuer.crt")
        if FileManager.default.fileExists(atPath: ca) && FileManager.default.fileExists(atPath: issuer) {
            // Reused only while the issuer is good for at least a day more.
            var verify = try CertsVerifyProbe.isValid(issuer: issuer, anchors: ca)
            if !verify { print("== the stored issuer is no longer valid; making new certificates") }
            verify = verify && FileManager.default.fileExists(atPath: self.file("issuer.key"))
            if verify {
                print("== reusing the trust anchor and issuer in \(self.directory) (--fresh to start over)")
                return
            }
        }
        print("== runbook Step 2: a trust anchor and an issuer in \(self.directory)")
        let root = try CertsCreateCommand.parse([
            "root.linkerd.cluster.local", ca, self.file("ca.key"), "--profile", "root-ca", "--no-password", "--insecure", "--force",
        ])
        try root.run()
        let intermediate = try CertsCreateCommand.parse([
            "identity.linkerd.cluster.local", issuer, self.file("issuer.key"), "--profile", "intermediate-ca",
            "--not-after", "8760h", "--no-password", "--insecure", "--ca", ca, "--ca-key", self.file("ca.key"), "--force",
        ])
        try intermediate.run()
    }

    private func writeTokens(_ layout: DemoLayout) throws {
        let tokens = self.file("tokens")
        try FileManager.default.createDirectory(atPath: tokens, withIntermediateDirectories: true)
        var lines = ""
        for w in layout.all {
            let token = (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            let path = (tokens as NSString).appendingPathComponent("\(w.name).token")
            try SecureFileWriter.writeSecret(token, to: path)
            lines += "\(token) \(DemoLayout.namespace)/\(w.name)\n"
        }
        try SecureFileWriter.writeSecret(lines, to: self.file("tokens.txt"))
    }

    private func proxyEnvironment(_ w: DemoLayout.Workload, controller: String) -> [String: String] {
        var env = [
            "LATTICE_PROXY_IDENTITY_NAME": w.identity,
            "LATTICE_PROXY_IDENTITY_TOKEN_FILE": (self.file("tokens") as NSString).appendingPathComponent("\(w.name).token"),
            "LATTICE_PROXY_IDENTITY_TRUST_ANCHORS": self.file("ca.crt"),
            "LATTICE_PROXY_IDENTITY_SVC_ADDR": controller,
            "LATTICE_PROXY_INBOUND_LISTEN_ADDR": "127.0.0.1:\(w.proxyInbound)",
            "LATTICE_PROXY_ADMIN_LISTEN_ADDR": "127.0.0.1:\(w.proxyAdmin)",
            "LATTICE_PROXY_CLUSTER_NETWORKS": "127.0.0.0/8,198.51.100.0/24",
            "LATTICE_PROXY_WORKLOAD": "\(DemoLayout.namespace)/\(w.name)",
            "LATTICE_PROXY_OUTBOUND_UPSTREAMS": w.upstreams.map {
                "127.0.0.1:\($0.local)=discover:\($0.service).\(DemoLayout.namespace).svc.cluster.local:\($0.port)"
            }.joined(separator: ","),
        ]
        if let port = w.appPort { env["LATTICE_PROXY_INBOUND_DEFAULT_PORT"] = "\(port)" }
        if w.name == "web", let port = w.appPort { env["LATTICE_PROXY_INBOUND_PROBES"] = "\(port):/healthz" }
        return env
    }

    private func waitForControllerAddresses(_ controller: MeshProcesses.Started) async throws -> (api: String, admin: String) {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let data = FileManager.default.contents(atPath: self.file("controller.json")),
                let json = try? JSONSerialization.jsonObject(with: data) as? [String: String],
                let api = json["identity"], let admin = json["admin"]
            {
                return (api, admin)
            }
            if !controller.process.isRunning { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CLIError("the controller did not start; its log (\(controller.log)) ends:\n\(MeshProcesses.tail(controller.log))")
    }

    // MARK: The story

    /// Runs every step; true when all held.
    func runStory() async -> Bool {
        let layout = self.layout!
        await self.step("controller ready") {
            try await self.waitFor("the controller's /ready", seconds: 20) {
                try await self.status(self.manifest.controller.admin, "/ready") == 200
            }
            return "admin \(self.manifest.controller.admin)/ready answered 200"
        }
        await self.step("every proxy ready (certificate from the identity service)") {
            for w in layout.all {
                try await self.waitFor("\(w.name)-proxy /ready", seconds: 30) {
                    try await self.status("127.0.0.1:\(w.proxyAdmin)", "/ready") == 200
                }
            }
            return "\(layout.all.count) proxies hold 24 h leaves"
        }
        await self.step("meshed traffic: client → web (HTTP/1.1) → api (gRPC) → store (TCP), all over mTLS") {
            let client = KeepAliveHTTPClient(host: "127.0.0.1", port: layout.traffic.upstreams[0].local)
            defer { client.close() }
            var body = ""
            try await self.waitFor("the first request through the mesh", seconds: 20) {
                let response = try await client.get("/item/first")
                body = response.body
                return response.status == 200
            }
            for i in 0..<20 {
                let response = try await client.get("/item/widget-\(i % 4)")
                guard response.status == 200 else { throw CLIError("request \(i) answered \(response.status): \(response.body)") }
                body = response.body
            }
            guard body.contains("\"caller\":\"\(layout.traffic.identity)\"") else {
                throw CLIError("web did not see the caller's verified identity (l5d-client-id): \(body)")
            }
            return "21 requests answered 200; web saw caller \(layout.traffic.identity)"
        }
        self.startTraffic()
        await self.step("audit: an unmeshed client's plaintext gRPC call to api succeeds, counted as would-be-denied") {
            let before = await ProxyScraper.scrape(admin: "127.0.0.1:\(layout.api.proxyAdmin)")?.wouldDeny ?? 0
            let reply = try await self.plaintextLookup(layout)
            guard case .success(let answer) = reply else {
                if case .failure(let error) = reply { throw CLIError("refused under audit: \(error)") }
                throw CLIError("no answer")
            }
            var after = before
            try await self.waitFor("the would-deny counter", seconds: 5) {
                after = await ProxyScraper.scrape(admin: "127.0.0.1:\(layout.api.proxyAdmin)")?.wouldDeny ?? 0
                return after > before
            }
            return "answered (count \(answer.count)); api's proxy counts \(Int(after)) request(s) cluster-authenticated would deny"
        }
        await self.step("enforce: api moves to cluster-authenticated; the same plaintext call is refused (PERMISSION_DENIED)") {
            let started = ContinuousClock.now
            try layout.registry(apiPolicy: "cluster-authenticated").write(toFile: self.file("registry.yaml"), atomically: true, encoding: .utf8)
            var code = ""
            try await self.waitFor("the policy change to reach api's proxy", seconds: 10) {
                if case .failure(let error) = try await self.plaintextLookup(layout), error.code == .permissionDenied {
                    code = "\(error.code)"
                    return true
                }
                return false
            }
            let elapsed = ContinuousClock.now - started
            return "refused with \(code) \(String(format: "%.2f", Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))) s after the registry changed"
        }
        await self.step("meshed calls keep passing under cluster-authenticated") {
            let client = KeepAliveHTTPClient(host: "127.0.0.1", port: layout.traffic.upstreams[0].local)
            defer { client.close() }
            for i in 0..<20 {
                let response = try await client.get("/item/after-\(i % 4)")
                guard response.status == 200 else { throw CLIError("request \(i) answered \(response.status): \(response.body)") }
            }
            return "20 more requests answered 200"
        }
        await self.step("runbook query: share of request_total{tls=\"true\"} ≈ 100 %") {
            try await Task.sleep(for: .seconds(1))
            var total = 0.0
            var mtls = 0.0
            for w in [layout.web, layout.api] {
                guard let scrape = await ProxyScraper.scrape(admin: "127.0.0.1:\(w.proxyAdmin)") else {
                    throw CLIError("cannot scrape \(w.name)-proxy")
                }
                total += scrape.requests
                mtls += scrape.mtlsRequests
            }
            let share = total > 0 ? mtls / total : 0
            guard share >= 0.95 else { throw CLIError(String(format: "only %.1f%% of %.0f inbound requests were mTLS", share * 100, total)) }
            return String(format: "%.2f%% of %.0f inbound requests on web and api (the rest: the deliberate plaintext calls)", share * 100, total)
        }
        await self.step("store: opaque TCP over mTLS") {
            guard let scrape = await ProxyScraper.scrape(admin: "127.0.0.1:\(layout.store.proxyAdmin)"), scrape.mtlsTCPOpened > 0 else {
                throw CLIError("store's proxy saw no mTLS connection")
            }
            return "\(Int(scrape.mtlsTCPOpened)) of \(Int(scrape.tcpOpened)) inbound connections mTLS"
        }
        return self.steps.allSatisfy(\.passed)
    }

    private func step(_ name: String, _ body: () async throws -> String) async {
        let exited = self.processes.exited
        if !exited.isEmpty {
            let names = exited.map(\.name).joined(separator: ", ")
            let step = Step(name: name, passed: false, detail: "not run: \(names) exited; see \(exited[0].log):\n\(MeshProcesses.tail(exited[0].log))")
            self.steps.append(step)
            print("✗ \(name)\n    \(step.detail)")
            return
        }
        do {
            let detail = try await body()
            self.steps.append(Step(name: name, passed: true, detail: detail))
            print("✓ \(name)\n    \(detail)")
        } catch {
            self.steps.append(Step(name: name, passed: false, detail: "\(error)"))
            print("✗ \(name)\n    \(error)")
        }
    }

    func printSummary() {
        let passed = self.steps.filter(\.passed).count
        print("\n== summary: \(passed) of \(self.steps.count) steps held")
        for step in self.steps { print("  \(step.passed ? "✓" : "✗") \(step.name)") }
        print(passed == self.steps.count ? "✓ demo passed" : "✗ demo failed (logs in \(self.processes.logDirectory))")
    }

    private func waitFor(_ what: String, seconds: Int, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            do {
                if try await condition() { return }
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CLIError("\(what): not within \(seconds) s\(lastError.map { " (last error: \($0))" } ?? "")")
    }

    private func status(_ address: String, _ path: String) async throws -> Int {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { return 0 }
        let client = KeepAliveHTTPClient(host: String(address[..<colon]), port: port)
        defer { client.close() }
        return try await client.get(path, timeout: .seconds(2)).status
    }

    /// The unmeshed client: a plaintext gRPC call straight to api's proxy inbound port.
    private func plaintextLookup(_ layout: DemoLayout) async throws -> Result<Lattice_Demo_V1_LookupReply, RPCError> {
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: layout.api.proxyInbound),
            transportSecurity: .plaintext
        )
        return try await withGRPCClient(transport: transport) { client in
            var request = Lattice_Demo_V1_LookupRequest()
            request.item = "unmeshed"
            do {
                return .success(try await Lattice_Demo_V1_Inventory.Client(wrapping: client).lookup(request))
            } catch let error as RPCError {
                return .failure(error)
            }
        }
    }

    // MARK: Traffic and the live table

    func startTraffic() {
        let port = self.layout.traffic.upstreams[0].local
        let workers = min(4, self.rps)
        let interval = Duration.milliseconds(1000 * workers / self.rps)
        let counters = self.counters
        self.traffic = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        let client = KeepAliveHTTPClient(host: "127.0.0.1", port: port)
                        defer { client.close() }
                        var i = 0
                        while !Task.isCancelled {
                            i += 1
                            let ok = (try? await client.get("/item/item-\(worker)-\(i % 8)").status) == 200
                            counters.record(ok: ok)
                            try? await Task.sleep(for: interval)
                        }
                    }
                }
            }
        }
    }

    func stopTraffic() {
        self.traffic?.cancel()
        self.traffic = nil
    }

    func showLiveTable(every seconds: Int) async throws {
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let table = Task {
            var previous: [String: ProxyScrape] = [:]
            var last = ContinuousClock.now
            while !Task.isCancelled {
                var lines: [WorkloadStatLine] = []
                var current: [String: ProxyScrape] = [:]
                let now = ContinuousClock.now
                let elapsed = now - last
                let dt = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                for w in self.manifest.workloads {
                    let scrape = await ProxyScraper.scrape(admin: w.proxy?.admin ?? "")
                    current[w.name] = scrape
                    lines.append(WorkloadStatLine(name: w.name, meshed: w.meshed, before: previous[w.name], after: scrape, seconds: dt))
                }
                last = now
                previous = current
                let (ok, failed) = self.counters.totals
                print("\u{1B}[2J\u{1B}[H", terminator: "")
                print("lattice demo — namespace \(DemoLayout.namespace), inbound traffic per workload over the last \(seconds) s (Ctrl-C stops)\n")
                print(WorkloadStatLine.table(lines))
                print("\nsample traffic: \(ok) ok, \(failed) failed · state \(self.directory) · try: lattice stat --state \(self.directory)")
                let exited = self.processes.exited.map(\.name)
                if !exited.isEmpty { print("exited: \(exited.joined(separator: ", ")) (logs in \(self.processes.logDirectory))") }
                try? await Task.sleep(for: .seconds(seconds))
            }
        }
        for await _ in signals { break }
        table.cancel()
        print("\nstopping the mesh…")
    }
}

/// The sample traffic's outcome counts.
final class TrafficCounters: @unchecked Sendable {
    private let lock = NSLock()
    private var ok = 0
    private var failed = 0
    func record(ok: Bool) { self.lock.withLock { if ok { self.ok += 1 } else { self.failed += 1 } } }
    var totals: (Int, Int) { self.lock.withLock { (self.ok, self.failed) } }
}

/// Whether stored demo certificates can be reused.
enum CertsVerifyProbe {
    static func isValid(issuer: String, anchors: String) throws -> Bool {
        var verify = try CertsVerifyCommand.parse([issuer, "--anchors", anchors])
        do {
            try verify.run()
            return true
        } catch {
            return false
        }
    }
}
