import ArgumentParser
import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LatticeAPI
import LatticeController
import LatticeIdentity
import LatticeModel
import LatticeObservability
import Logging

/// `lattice-bench identity-signing`: how many CSRs the CA signs per second.
///
/// `--in-process` runs the identity service's whole request path (rate limiter, identity parse, token lookup, CSR
/// validation, signing, metrics) on one task, so the figure is one core's capacity. `--target HOST:PORT` drives a
/// running controller over gRPC/TLS with `--concurrency` callers for `--duration` seconds.
struct IdentitySigningBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity-signing",
        abstract: "Measure CSR signing throughput (in process, or against a controller)."
    )

    @Flag(help: "Measure the request path in this process, on one task.")
    var inProcess = false

    @Option(help: "A controller's identity API (HOST:PORT) to load over gRPC/TLS.")
    var target: String?

    @Option(help: "Trust anchors (with --target).")
    var anchors: String?

    @Option(help: "Issuer certificate (with --in-process).")
    var issuerCertificate: String?

    @Option(help: "Issuer key (with --in-process).")
    var issuerKey: String?

    @Option(help: "Token to present (with --target); the controller's tokens file must map it to default/bench.")
    var token: String = "bench-token"

    @Option(help: "Seconds to run.")
    var duration: Double = 5

    @Option(help: "Concurrent callers (with --target).")
    var concurrency: Int = 8

    @Option(help: "Distinct CSRs to cycle through.")
    var csrs: Int = 64

    func validate() throws {
        guard self.inProcess != (self.target != nil) else {
            throw ValidationError("choose one: --in-process or --target HOST:PORT")
        }
        if self.inProcess && (self.issuerCertificate == nil || self.issuerKey == nil || self.anchors == nil) {
            throw ValidationError("--in-process needs --issuer-certificate, --issuer-key and --anchors")
        }
        if self.target != nil && self.anchors == nil {
            throw ValidationError("--target needs --anchors to verify the controller")
        }
        guard self.duration > 0, self.duration <= 600 else { throw ValidationError("--duration must be in (0, 600]") }
    }

    static let identity = try! WorkloadIdentity(serviceAccount: "bench", namespace: "default")

    func run() async throws {
        let requests = try (0..<self.csrs).map { _ in
            try CSRBuilder.make(identity: Self.identity.name, key: P256.Signing.PrivateKey())
        }
        if self.inProcess {
            try await self.runInProcess(requests)
        } else {
            try await self.runAgainstTarget(requests)
        }
    }

    private func runInProcess(_ requests: [[UInt8]]) async throws {
        let issuer = try await IssuerCredentials.load(
            certificatePath: self.issuerCertificate!,
            keyPath: self.issuerKey!,
            anchorsPath: self.anchors!,
            now: Date()
        )
        let store = IssuerStore(controllerIdentity: IdentityDomain.default.controllerIdentity)
        try store.install(issuer, signer: LeafSigner(), now: Date())
        let tokens = try LocalTokenAuthenticator.parse("bench-token default/bench", source: "bench", domain: .default)
        struct Table: TokenAuthenticator {
            let entries: [String: LocalTokenAuthenticator.Entry]
            func authenticate(token: String) async throws(AuthenticationError) -> WorkloadIdentity {
                guard let entry = self.entries[token] else { throw AuthenticationError(.unauthenticated, "unknown") }
                return entry.identity
            }
        }
        let registry = MetricsRegistry()
        let service = IdentityIssuer(
            store: store,
            authenticator: Table(entries: tokens),
            signer: LeafSigner(),
            domain: .default,
            limiter: RequestLimiter(settings: .init(perPeerRate: 0)),
            metrics: IdentityMetrics(factory: registry.factory),
            logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        let token = Array("bench-token".utf8)
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(Int64(self.duration * 1000))
        var count = 0
        while clock.now < deadline {
            for _ in 0..<50 {
                _ = try await service.certify(
                    identity: Self.identity.name,
                    token: token,
                    csr: requests[count % requests.count],
                    peer: "ipv4:127.0.0.1:1"
                )
                count += 1
            }
        }
        let seconds = Double((clock.now - start).components.attoseconds) / 1e18 + Double((clock.now - start).components.seconds)
        print(String(format: "in-process: %d CSRs signed in %.2f s = %.0f CSRs/s on one task (%.1f µs each)",
                     count, seconds, Double(count) / seconds, seconds / Double(count) * 1e6))
    }

    private func runAgainstTarget(_ requests: [[UInt8]]) async throws {
        let parts = self.target!.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--target must be HOST:PORT") }
        let host = String(parts[0])
        let anchors = self.anchors!
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: host, port: port),
            transportSecurity: .tls { tls in
                tls.trustRoots = .certificates([.file(path: anchors, format: .pem)])
            },
            config: .defaults { $0.http2.authority = IdentityDomain.default.controllerIdentity.name }
        )
        let duration = self.duration
        let token = self.token
        let concurrency = self.concurrency
        let (ok, failed, seconds) = try await withGRPCClient(transport: transport) { grpc in
            let client = Lattice_Identity_V1_Identity.Client(wrapping: grpc)
            let start = ContinuousClock.now
            let deadline = start + .milliseconds(Int64(duration * 1000))
            let totals = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
                for worker in 0..<concurrency {
                    group.addTask {
                        var ok = 0
                        var failed = 0
                        var index = worker
                        while ContinuousClock.now < deadline {
                            var request = Lattice_Identity_V1_CertifyRequest()
                            request.identity = Self.identity.name
                            request.token = Data(token.utf8)
                            request.certificateSigningRequest = Data(requests[index % requests.count])
                            index += 1
                            do {
                                _ = try await client.certify(request)
                                ok += 1
                            } catch {
                                failed += 1
                            }
                        }
                        return (ok, failed)
                    }
                }
                var sum = (0, 0)
                for try await part in group { sum = (sum.0 + part.0, sum.1 + part.1) }
                return sum
            }
            let elapsed = ContinuousClock.now - start
            return (totals.0, totals.1, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        print(String(format: "over gRPC/TLS: %d ok, %d failed in %.2f s = %.0f CSRs/s (%d callers)",
                     ok, failed, seconds, Double(ok) / seconds, concurrency))
    }
}
