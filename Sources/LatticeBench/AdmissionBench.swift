import ArgumentParser
import AsyncHTTPClient
import Foundation
import LatticeController
import LatticeInjector
import LatticeObservability
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// `lattice-bench admission`: how long the injector webhook takes per AdmissionReview (the goal: p99 ≤ 5 ms on one
/// core, since every pod creation waits on it). In process (decode, inject, encode), and over HTTPS with keep-alive
/// against the real webhook server on one event loop thread.
struct AdmissionBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admission",
        abstract: "Time the injector webhook per AdmissionReview, in process and over HTTPS."
    )

    @Option(help: "An AdmissionReview body (JSON) to answer, over and over.")
    var review: String = "Tests/LatticeControllerTests/Fixtures/admission/deployment-pod.json"

    @Option(help: "Reviews answered in process.")
    var count: Int = 20_000

    @Option(help: "Reviews posted over HTTPS (0: skip).")
    var httpsCount: Int = 2_000

    @Option(help: "Webhook serving certificate (PEM, naming 127.0.0.1), for the HTTPS run.")
    var certificate: String?

    @Option(help: "Its key.")
    var key: String?

    func validate() throws {
        guard self.count > 0, self.count <= 1_000_000 else { throw ValidationError("--count must be in 1…1000000") }
        guard self.httpsCount >= 0, self.httpsCount <= 100_000 else { throw ValidationError("--https-count must be in 0…100000") }
        if self.httpsCount > 0 && (self.certificate == nil || self.key == nil) {
            throw ValidationError("the HTTPS run needs --certificate and --key (or --https-count 0)")
        }
    }

    func run() async throws {
        let body = Array(try Data(contentsOf: URL(fileURLWithPath: self.review)))
        let quiet = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let mutator = InjectorPodMutator(
            config: { MeshConfig() },
            nativeSidecar: { _ in false },
            // The worst case: the namespace opts every pod in, so each review is injected (a full patch).
            namespaces: { NamespaceContext(name: $0, annotations: ["lattice.io/inject": "enabled"], labels: [:]) }
        )
        let responder = AdmissionResponder(mutator: mutator, metrics: WebhookMetrics(factory: MetricsRegistry().factory), logger: quiet)
        let first = responder.answer(body)
        guard first.httpStatus == 200, String(decoding: first.body, as: UTF8.self).contains("\"patch\"") else {
            throw ValidationError("the review was not injected: \(String(decoding: first.body, as: UTF8.self).prefix(400))")
        }
        print("review: \(self.review) (\(body.count) bytes), answer \(first.body.count) bytes")

        var samples: [Duration] = []
        samples.reserveCapacity(self.count)
        let clock = ContinuousClock()
        let started = clock.now
        for _ in 0..<self.count {
            let start = clock.now
            _ = responder.answer(body)
            samples.append(start.duration(to: clock.now))
        }
        Self.report("in-process", samples, total: started.duration(to: clock.now))

        guard self.httpsCount > 0, let certificate = self.certificate, let key = self.key else { return }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try AdmissionWebhookServer(
            host: "127.0.0.1", port: 0, certificatePath: certificate, keyPath: key, reloadInterval: .seconds(60),
            responder: responder, logger: quiet, group: group
        )
        let services = ServiceGroup(services: [server], logger: quiet)
        try await withThrowingTaskGroup { tasks in
            tasks.addTask { try await services.run() }
            let port = try await server.waitUntilBound().port ?? 0
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(certificate)
            let client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: .init(tlsConfiguration: tls))
            var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/inject?timeout=10s")
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            var samples: [Duration] = []
            let started = clock.now
            for index in 0..<(self.httpsCount + 50) {
                request.body = .bytes(ByteBuffer(bytes: body))
                let start = clock.now
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try await response.body.collect(upTo: 1 << 20)
                guard response.status == .ok else { throw ValidationError("the webhook answered \(response.status)") }
                // The first 50 warm the connection up (handshake) and are not counted.
                if index >= 50 { samples.append(start.duration(to: clock.now)) }
            }
            Self.report("https keep-alive (client and server on one event loop)", samples, total: started.duration(to: clock.now))
            try await client.shutdown()
            await services.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        try await group.shutdownGracefully()
    }

    static func report(_ name: String, _ samples: [Duration], total: Duration) {
        let sorted = samples.sorted()
        func ms(_ q: Double) -> Double {
            let d = sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
            return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
        }
        let seconds = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18
        print(
            String(
                format: "%@: %d reviews, p50 %.3f ms, p95 %.3f ms, p99 %.3f ms, max %.3f ms, %.0f reviews/s",
                name, samples.count, ms(0.5), ms(0.95), ms(0.99), ms(1.0), Double(samples.count) / seconds
            )
        )
    }
}
