import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LatticeAPI
import Synchronization

/// `lattice-bench discovery-streams`: one controller serving many proxies' destination streams. Opens `--streams`
/// streams over `--connections` TLS connections (as that many proxies would), then moves every workload in the
/// registry `--updates` times, measuring how long each change takes to reach every stream and the controller's
/// memory (VmRSS) idle, with every stream open, and after the updates.
struct DiscoveryStreamsBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discovery-streams",
        abstract: "Destination streams of many proxies against one controller: memory and update fan-out."
    )

    @Option(help: "Write a registry of --services services (two workloads each) to this file, and exit.")
    var writeRegistry: String?

    @Option(help: "The registry the controller serves (rewritten to move every workload).")
    var registry: String?

    @Option(help: "The controller's API (HOST:PORT).")
    var target: String?

    @Option(help: "Trust anchors.")
    var anchors: String?

    @Option(help: "The controller's pid (for VmRSS).")
    var controllerPID: Int32 = 0

    @Option(help: "Services in the registry.")
    var services: Int = 100

    @Option(help: "Streams to open.")
    var streams: Int = 1000

    @Option(help: "TLS connections the streams share (proxies).")
    var connections: Int = 250

    @Option(help: "Registry changes to time.")
    var updates: Int = 5

    func run() async throws {
        if let path = self.writeRegistry {
            try Self.registry(services: self.services, generation: 0).write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        guard let registry = self.registry, let target = self.target, let anchors = self.anchors,
            let colon = target.lastIndex(of: ":"), let port = Int(target[target.index(after: colon)...])
        else { throw ValidationError("give --registry, --target HOST:PORT and --anchors (or --write-registry FILE)") }
        let host = String(target[..<colon])
        let counts = UpdateCounts(streams: self.streams)
        let rssIdle = Self.rss(self.controllerPID)
        print("controller VmRSS idle: \(rssIdle) KiB")
        let opened = ContinuousClock.now
        let perConnection = (self.streams + self.connections - 1) / self.connections
        let services = self.services
        let streamCount = self.streams
        let connectionCount = self.connections
        let streamsTask = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for c in 0..<connectionCount {
                    group.addTask {
                        let transport = try HTTP2ClientTransport.Posix(
                            target: .ipv4(address: host, port: port),
                            transportSecurity: .tls { tls in tls.trustRoots = .certificates([.file(path: anchors, format: .pem)]) },
                            config: .defaults { $0.http2.authority = "lattice-controller.lattice.serviceaccount.identity.lattice.cluster.local" }
                        )
                        try await withGRPCClient(transport: transport) { client in
                            let destination = Lattice_Destination_V1_Destination.Client(wrapping: client)
                            try await withThrowingTaskGroup(of: Void.self) { streams in
                                for s in 0..<perConnection {
                                    let index = c * perConnection + s
                                    guard index < streamCount else { break }
                                    streams.addTask {
                                        var request = Lattice_Destination_V1_GetDestination()
                                        request.target = "svc-\(index % services).bench.svc.cluster.local:80"
                                        request.apiVersion = 1
                                        try await destination.get(request) { response in
                                            for try await _ in response.messages { counts.received(stream: index) }
                                        }
                                    }
                                }
                                try await streams.waitForAll()
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        defer { streamsTask.cancel() }
        try await counts.wait(generation: 1, timeout: .seconds(120))
        let openTime = ContinuousClock.now - opened
        let rssOpen = Self.rss(self.controllerPID)
        print("\(streamCount) streams over \(connectionCount) connections answered in \(Self.ms(openTime)) ms")
        print(String(format: "controller VmRSS with every stream open: %d KiB (%.1f KiB per stream over idle)", rssOpen, Double(rssOpen - rssIdle) / Double(streamCount)))
        var fanOuts: [Double] = []
        for generation in 1...self.updates {
            try await Task.sleep(for: .milliseconds(300))
            let written = ContinuousClock.now
            try Self.registry(services: services, generation: generation).write(toFile: registry, atomically: true, encoding: .utf8)
            try await counts.wait(generation: generation + 1, timeout: .seconds(30))
            let took = ContinuousClock.now - written
            fanOuts.append(Self.ms(took))
            print("update \(generation): every stream had it \(Self.ms(took)) ms after the registry was written")
        }
        let rssAfter = Self.rss(self.controllerPID)
        fanOuts.sort()
        print(String(format: "fan-out to all %d streams: median %.0f ms, max %.0f ms (includes the controller's registry poll)", streamCount, fanOuts[fanOuts.count / 2], fanOuts.last ?? 0))
        print("controller VmRSS after \(self.updates) updates: \(rssAfter) KiB")
        streamsTask.cancel()
        _ = await streamsTask.result
    }

    static func ms(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }

    static func rss(_ pid: Int32) -> Int {
        guard pid > 0, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// `services` services, each backed by two workloads whose addresses move with `generation`.
    static func registry(services: Int, generation: Int) -> String {
        var out = "workloads:\n"
        for i in 0..<(services * 2) {
            let address = "198.51.100.\((i + generation) % 250 + 1)"
            out += "  - {name: w-\(i), namespace: bench, serviceAccount: sa-\(i / 2), addresses: [\(address)], labels: {app: svc-\(i / 2)}, ports: [{port: 8080}]}\n"
        }
        out += "services:\n"
        for i in 0..<services {
            out += "  - {name: svc-\(i), namespace: bench, ports: [{port: 80, targetPort: 8080}], selector: {app: svc-\(i)}}\n"
        }
        return out
    }
}

/// How many answers each stream has received; waits until every stream has `generation` of them.
final class UpdateCounts: Sendable {
    private let counts: Mutex<[Int]>

    init(streams: Int) { self.counts = Mutex(Array(repeating: 0, count: streams)) }

    func received(stream: Int) { self.counts.withLock { $0[stream] += 1 } }

    func wait(generation: Int, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while self.counts.withLock({ $0.min() ?? 0 }) < generation {
            guard ContinuousClock.now < deadline else {
                let behind = self.counts.withLock { $0.filter { $0 < generation }.count }
                throw ValidationError("\(behind) streams never got update \(generation)")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}
