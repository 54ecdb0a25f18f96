import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LatticeAPI
import LatticeTestSupport
import Testing

/// A grpc-swift client and server on either side of a real proxy pair: statuses, trailers and policy refusals cross
/// intact.
@Suite(.tags(.integration), .serialized, .timeLimit(.minutes(3)))
struct GRPCProxyTests {
    /// Answers Certify with the identity it was asked for, or a gRPC error for "fail".
    struct EchoIdentity: Lattice_Identity_V1_Identity.SimpleServiceProtocol {
        func certify(
            request: Lattice_Identity_V1_CertifyRequest,
            context: ServerContext
        ) async throws -> Lattice_Identity_V1_CertifyResponse {
            if request.identity == "fail" {
                throw RPCError(code: .invalidArgument, message: "the app refuses this one")
            }
            var response = Lattice_Identity_V1_CertifyResponse()
            response.leafCertificate = Data(request.identity.utf8)
            return response
        }
    }

    @Test func grpcCallsStatusesAndDenialsCrossThePair() async throws {
        try await TestFiles.withDirectory { dir in
            try ControllerProcess.makeRunbookCertificates(in: dir)
            let controller = try await ControllerProcess(directory: dir)
            defer { controller.stop() }
            let serverTransport = HTTP2ServerTransport.Posix(
                address: .ipv4(host: "127.0.0.1", port: 0),
                transportSecurity: .plaintext
            )
            let server = GRPCServer(transport: serverTransport, services: [EchoIdentity()])
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                defer { server.beginGracefulShutdown() }
                let appPort = try #require(try await serverTransport.listeningAddress.ipv4?.port)
                let open = try ProxyProcess(
                    directory: dir, name: "db", serviceAccount: "db", token: "db-token",
                    controllerPort: controller.identityPort, inboundDefaultPort: appPort
                )
                defer { open.stop() }
                let closed = try ProxyProcess(
                    directory: dir, name: "db2", serviceAccount: "db", token: "db-token",
                    controllerPort: controller.identityPort, inboundDefaultPort: appPort, policy: "deny"
                )
                defer { closed.stop() }
                let openPort = try LoopbackTCP.freePort()
                let closedPort = try LoopbackTCP.freePort()
                let client = try ProxyProcess(
                    directory: dir, name: "web", serviceAccount: "web", token: "web-token",
                    controllerPort: controller.identityPort,
                    upstreams: [
                        "127.0.0.1:\(openPort)=\(open.identity)@127.0.0.1:\(open.inboundPort)/\(appPort)",
                        "127.0.0.1:\(closedPort)=\(closed.identity)@127.0.0.1:\(closed.inboundPort)/\(appPort)",
                    ]
                )
                defer { client.stop() }
                for proxy in [open, closed, client] { try await proxy.waitUntilReady() }

                // A call that succeeds, then one the app fails: its status and message arrive as the app sent them.
                try await Self.withClient(port: openPort) { identity in
                    for index in 0..<5 {
                        var request = Lattice_Identity_V1_CertifyRequest()
                        request.identity = "caller-\(index)"
                        let response = try await identity.certify(request)
                        #expect(response.leafCertificate == Data("caller-\(index)".utf8))
                    }
                    var failing = Lattice_Identity_V1_CertifyRequest()
                    failing.identity = "fail"
                    let error = await #expect(throws: RPCError.self) { try await identity.certify(failing) }
                    #expect(error?.code == .invalidArgument)
                    #expect(error?.message == "the app refuses this one")
                }
                // Under deny, the server's proxy answers PERMISSION_DENIED naming the reason.
                try await Self.withClient(port: closedPort) { identity in
                    let error = await #expect(throws: RPCError.self) {
                        try await identity.certify(Lattice_Identity_V1_CertifyRequest())
                    }
                    #expect(error?.code == .permissionDenied)
                    #expect(error?.metadata[stringValues: "lattice-proxy-error"].first(where: { _ in true }) == "deny_all")
                }
                #expect(client.metricValue("response_total", [#"grpc_status="0""#, #"classification="success""#]) == 5)
                #expect(client.metricValue("response_total", [#"grpc_status="3""#, #"classification="failure""#]) == 1)
                #expect(closed.metricValue("response_total", [#"grpc_status="7""#, #"error="deny_all""#]) == 1)
                #expect(open.metricValue("request_total", [#"tls="true""#, #"client_id="\#(client.identity)""#]) == 6)
            }
        }
    }

    static func withClient(
        port: Int,
        _ body: (Lattice_Identity_V1_Identity.Client<HTTP2ClientTransport.Posix>) async throws -> Void
    ) async throws {
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port),
            transportSecurity: .plaintext
        )
        try await withGRPCClient(transport: transport) { client in
            try await body(Lattice_Identity_V1_Identity.Client(wrapping: client))
        }
    }
}
