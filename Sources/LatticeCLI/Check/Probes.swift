import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LatticeAPI
import LatticeIdentity
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import X509

/// Reads a component's admin endpoint.
enum AdminProbe {
    static func get(_ address: String, _ path: String) async throws -> KeepAliveHTTPClient.Response {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw CLIError("'\(address)' is not HOST:PORT")
        }
        let client = KeepAliveHTTPClient(host: String(address[..<colon]), port: port)
        defer { client.close() }
        return try await client.get(path, timeout: .seconds(3))
    }

    static func status(_ address: String, _ path: String) async throws -> Int {
        try await self.get(address, path).status
    }

    /// The sum of a metric's series.
    static func metric(_ address: String, _ name: String) async throws -> Double? {
        let samples = PrometheusText.parse(try await self.get(address, "/metrics").body).filter { $0.name == name }
        return samples.isEmpty ? nil : samples.reduce(0) { $0 + $1.value }
    }

    /// A label of a metric's first series.
    static func metricLabel(_ address: String, _ name: String, label: String) async throws -> String? {
        PrometheusText.parse(try await self.get(address, "/metrics").body).first { $0.name == name }?.labels[label]
    }
}

/// Calls the controller's three APIs as a proxy does (TLS, the controller's identity verified).
struct ControlPlaneProbe {
    let manifest: DemoManifest

    private func withClient<T: Sendable>(_ body: @Sendable @escaping (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> T) async throws -> T {
        guard let colon = self.manifest.controller.api.lastIndex(of: ":"),
            let port = Int(self.manifest.controller.api[self.manifest.controller.api.index(after: colon)...])
        else { throw CLIError("the controller's API address '\(self.manifest.controller.api)' is not HOST:PORT") }
        let anchors = self.manifest.trustAnchors
        let name = self.manifest.controller.identity
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: String(self.manifest.controller.api[..<colon]), port: port),
            transportSecurity: .tls { tls in
                tls.trustRoots = .certificates([.file(path: anchors, format: .pem)])
            },
            config: .defaults { $0.http2.authority = name }
        )
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await withGRPCClient(transport: transport, handleClient: body) }
            group.addTask {
                try await Task.sleep(for: .seconds(5))
                return nil
            }
            guard let first = try await group.next(), let value = first else {
                group.cancelAll()
                throw CLIError("no answer within 5 s")
            }
            group.cancelAll()
            return value
        }
    }

    /// Nil when the identity service answers (a made-up request is refused with its own reason, not unavailable).
    func identity() async throws -> String? {
        try await self.withClient { client in
            var request = Lattice_Identity_V1_CertifyRequest()
            request.identity = "lattice-check.lattice.serviceaccount.identity.lattice.cluster.local"
            request.token = Data("not-a-token".utf8)
            do {
                _ = try await Lattice_Identity_V1_Identity.Client(wrapping: client).certify(request)
                return "a made-up token was accepted"
            } catch let error as RPCError {
                switch error.code {
                case .unauthenticated, .invalidArgument, .permissionDenied: return nil
                default: return "\(error.code): \(error.message)"
                }
            }
        }
    }

    /// Nil when destination answers for a registered workload's address with endpoints.
    func destination(target: String) async throws -> String? {
        try await self.withClient { client in
            var request = Lattice_Destination_V1_GetDestination()
            request.target = target
            request.proxyIdentity = "lattice-check"
            request.apiVersion = 1
            return try await Lattice_Destination_V1_Destination.Client(wrapping: client).get(request) { response in
                for try await update in response.messages {
                    if case .endpoints(let set)? = update.answer, !set.endpoints.isEmpty { return nil }
                    return "\(target) was answered without endpoints: \(update)"
                }
                return "the stream ended without an answer"
            }
        }
    }

    /// Nil when policy answers for a registered workload.
    func policy(namespace: String, workload: String) async throws -> String? {
        try await self.withClient { client in
            var request = Lattice_Policy_V1_WatchInbound()
            request.namespace = namespace
            request.workload = workload
            request.apiVersion = 1
            return try await Lattice_Policy_V1_InboundPolicies.Client(wrapping: client).watch(request) { response in
                for try await policy in response.messages {
                    return policy.known ? nil : "\(namespace)/\(workload) is unknown to the policy service"
                }
                return "the stream ended without an answer"
            }
        }
    }
}

/// Looks at the certificate a proxy presents on its inbound port (mesh TLS, SNI = its identity). The proxy wants a
/// client certificate this probe doesn't have, so the connection is refused after the server has shown its chain —
/// which is all the probe needs.
enum ProxyCertificateProbe {
    static func check(inbound: String, identity: String, anchors: TrustBundle, now: Date) async -> String? {
        guard let colon = inbound.lastIndex(of: ":"), let port = Int(inbound[inbound.index(after: colon)...]) else {
            return "'\(inbound)' is not HOST:PORT"
        }
        let captured = Mutex<[NIOSSLCertificate]>([])
        do {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.minimumTLSVersion = .tlsv13
            tls.certificateVerification = .noHostnameVerification
            let context = try NIOSSLContext(configuration: tls)
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(2))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = try NIOSSLClientHandler(context: context, serverHostname: identity) { chain, promise in
                            captured.withLock { $0 = chain }
                            promise.succeed(.certificateVerified)
                        }
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: String(inbound[..<colon]), port: port)
                .get()
            try? await Task.sleep(for: .milliseconds(300))
            try? await channel.close()
        } catch {
            return "cannot reach its inbound port \(inbound): \(error)"
        }
        let chain = captured.withLock { $0 }
        guard let leafDER = chain.first.flatMap({ try? $0.toDERBytes() }), let leaf = try? Certificate(derEncoded: leafDER) else {
            return "presented no certificate for \(identity)"
        }
        let intermediates = chain.dropFirst().compactMap { try? Certificate(derEncoded: $0.toDERBytes()) }
        let verdict = await ChainVerifier.verify(leaf: leaf, intermediates: intermediates, anchors: anchors, expectedIdentity: identity, now: now)
        if case .invalid(let error) = verdict { return error.reason }
        return nil
    }
}
