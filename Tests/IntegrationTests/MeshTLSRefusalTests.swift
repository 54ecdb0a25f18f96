import Foundation
import LatticeTestSupport
import Testing

/// openssl s_client as a peer that does mesh TLS wrong: each attempt is refused during the handshake, counted, and
/// never reaches the app.
@Suite(.tags(.integration), .serialized, .timeLimit(.minutes(3)))
struct MeshTLSRefusalTests {
    @Test func tls12NoClientCertificateAndAForeignAnchorAreRefused() async throws {
        try await ProxyPairTests.withMesh { dir, client, server, _, _ in
            let lattice = ProcessRunner.executable("lattice")
            // A leaf for the client's identity from another trust anchor.
            for arguments in [
                ["certs", "create", "root.elsewhere", "other-ca.crt", "other-ca.key", "--profile", "root-ca", "--no-password", "--insecure"],
                [
                    "certs", "create", client.identity, "impostor.crt", "impostor.key", "--profile", "leaf", "--ca", "other-ca.crt",
                    "--ca-key", "other-ca.key", "--no-password", "--insecure",
                ],
            ] {
                let made = try ProcessRunner.run(lattice, arguments, currentDirectory: dir)
                try #require(made.status == 0, "\(made.stderr)")
            }
            let base = ["s_client", "-connect", "127.0.0.1:\(server.inboundPort)", "-servername", server.identity, "-quiet"]
            let attempts: [(String, [String])] = [
                ("TLS 1.2", ["-tls1_2", "-cert", "impostor.crt", "-key", "impostor.key"]),
                ("no client certificate", ["-tls1_3"]),
                ("a certificate from another anchor", ["-tls1_3", "-cert", "\(dir)/impostor.crt", "-key", "\(dir)/impostor.key"]),
            ]
            let before = server.metricValue("lattice_inbound_connections_refused_total", [#"reason="tls_handshake_failed""#]) ?? 0
            for (what, arguments) in attempts {
                try TestFiles.write("ping from an impostor\n", to: "\(dir)/stdin.txt")
                let result = try ProcessRunner.run(
                    "/bin/sh", ["-c", "openssl \((base + arguments).joined(separator: " ")) < \(dir)/stdin.txt"],
                    currentDirectory: dir, timeout: 20
                )
                // The echo app would send the line back: it must never see it.
                #expect(!result.stdout.contains("ping from an impostor"), "\(what): the app answered")
            }
            let refused = await eventually(timeout: .seconds(10)) {
                (server.metricValue("lattice_inbound_connections_refused_total", [#"reason="tls_handshake_failed""#]) ?? 0) >= before + 3
            }
            #expect(refused, "\(server.metrics())")
            #expect(server.metricValue("tcp_open_total", [#"direction="inbound""#]) == nil)
        }
    }
}
