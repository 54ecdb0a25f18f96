import GRPCCore
import GRPCNIOTransportHTTP2
import LatticeAdmin
import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization

/// Serves the controller's gRPC APIs (identity, destination, policy) over TLS with its own identity certificate.
///
/// It binds once the first valid issuer is loaded (there is no certificate to present before that); each handshake
/// then presents the current serving certificate from the ``IssuerStore``, so an issuer rotation needs no restart.
public final class IdentityServer: Service, Sendable {
    private let host: String
    private let port: Int
    private let store: IssuerStore
    private let services: [any RegistrableRPCService]
    private let onShutdown: @Sendable () -> Void
    private let maxRequestBytes: Int
    private let logger: Logger
    private let address = Mutex<String?>(nil)
    private let bound: (stream: AsyncStream<String>, continuation: AsyncStream<String>.Continuation)

    public init(
        host: String,
        port: Int,
        store: IssuerStore,
        services: [any RegistrableRPCService],
        maxRequestBytes: Int = 64 * 1024,
        logger: Logger,
        onShutdown: @escaping @Sendable () -> Void = {}
    ) {
        self.host = host
        self.port = port
        self.store = store
        self.services = services
        self.onShutdown = onShutdown
        self.maxRequestBytes = maxRequestBytes
        self.logger = logger
        self.bound = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public var boundAddress: String? { self.address.withLock { $0 } }

    /// Waits until the API is listening and returns `host:port`; nil if the server stopped first.
    public func waitUntilBound() async -> String? {
        for await address in self.bound.stream { return address }
        return self.boundAddress
    }

    public func run() async throws {
        defer { self.bound.continuation.finish() }
        while self.store.serving == nil {
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
        let store = self.store
        let security = try HTTP2ServerTransport.Posix.TransportSecurity.tls(certificateReloader: store) { tls in
            tls.clientCertificateVerification = .noVerification
        }
        var config = HTTP2ServerTransport.Posix.Config.defaults
        config.rpc.maxRequestPayloadSize = self.maxRequestBytes
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: self.host, port: self.port),
            transportSecurity: security,
            config: config
        )
        let server = GRPCServer(transport: transport, services: self.services)
        // Each child says which one ended: the server (true) or the wait for graceful shutdown (false).
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await server.serve()
                return true
            }
            let bound: GRPCNIOTransportCore.SocketAddress
            do {
                bound = try await transport.listeningAddress
            } catch {
                if Task.isCancelled { throw CancellationError() }
                // The server stopped before listening; its own error says why (the port is taken, the address is
                // not this host's). Without it the log would only say "no listening address".
                var cause: any Error = error
                do { _ = try await group.next() } catch let serveError { cause = serveError }
                while let runtime = cause as? RuntimeError, let inner = runtime.cause { cause = inner }
                throw ListenError(
                    listener: "the control-plane API (identity, destination, policy)",
                    address: "\(self.host):\(self.port)",
                    setting: "--identity-addr",
                    cause: cause
                )
            }
            let text: String
            if let ipv4 = bound.ipv4 {
                text = "\(ipv4.host):\(ipv4.port)"
            } else {
                text = "\(bound)"
            }
            self.address.withLock { $0 = text }
            self.logger.info("control-plane API listening (identity, destination, policy)", metadata: ["net.local.addr": "\(text)"])
            self.bound.continuation.yield(text)
            // Serve until graceful shutdown, or until the server stops by itself (an error after it started
            // listening): then the service ends too, with that error, rather than run on without its API.
            group.addTask {
                try? await gracefulShutdown()
                return false
            }
            let serverEnded: Result<Bool?, any Error>
            do {
                serverEnded = .success(try await group.next())
            } catch {
                serverEnded = .failure(error)
            }
            // Streams (destination, policy) never end by themselves: end them so the server can drain.
            self.onShutdown()
            server.beginGracefulShutdown()
            if (try? serverEnded.get()) != false {
                // The server is gone: the wait for graceful shutdown is all that is left.
                group.cancelAll()
            }
            while try await group.next() != nil {}
            _ = try serverEnded.get()
        }
    }
}
