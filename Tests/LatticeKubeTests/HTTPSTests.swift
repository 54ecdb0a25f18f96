import LatticeKube
import NIOSSL
import Testing

@Suite(.timeLimit(.minutes(1)), .enabled(if: TestCertificates.isAvailable, "needs the openssl tool"))
struct HTTPSTests {
    /// A server TLS configuration presenting the server certificate and requiring a client certificate from `ca`.
    private func serverTLS(_ certificates: TestCertificates) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificates.serverCertificatePEM.utf8))
                .map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(certificates.serverKeyPEM.utf8), format: .pem))
        )
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(certificates.caPEM.utf8)))
        tls.certificateVerification = .noHostnameVerification
        return tls
    }

    @Test
    func talksToAServerSignedByTheConfiguredCAWithAClientCertificate() async throws {
        try await withTemporaryDirectory { directory in
            let certificates = try TestCertificates.generate(in: directory)
            try await withFakeAPIServer(tls: try self.serverTLS(certificates), { _ in .fixture("version-eks.json") }) {
                server in
                #expect(server.url.hasPrefix("https://127.0.0.1:"))
                let config = KubernetesClientConfig(
                    serverURL: server.url,
                    certificateAuthorityPEM: certificates.caPEM,
                    authentication: .clientCertificate(
                        certificateChainPEM: certificates.clientCertificatePEM,
                        privateKeyPEM: certificates.clientKeyPEM
                    )
                )
                try await withClient(config) { client in
                    let version = try await client.serverVersion()
                    #expect(version.minor == 29)
                }
                #expect(server.requests.count == 1)
                #expect(server.requests.first?.headers["authorization"] == nil)
            }
        }
    }

    @Test
    func aServerNotSignedByTheConfiguredCAIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            let certificates = try TestCertificates.generate(in: directory + "/good")
            let other = try TestCertificates.generate(in: directory + "/other")
            try await withFakeAPIServer(tls: try self.serverTLS(certificates), { _ in .fixture("version-eks.json") }) {
                server in
                let config = KubernetesClientConfig(
                    serverURL: server.url,
                    certificateAuthorityPEM: other.caPEM,
                    authentication: .clientCertificate(
                        certificateChainPEM: certificates.clientCertificatePEM,
                        privateKeyPEM: certificates.clientKeyPEM
                    ),
                    connectTimeout: .milliseconds(500)
                )
                try await withClient(config) { client in
                    let error = await #expect(throws: KubernetesError(code: .transport, reason: "")) {
                        try await client.serverVersion()
                    }
                    #expect(error?.reason.contains("CERTIFICATE_VERIFY_FAILED") == true)
                }
                #expect(server.requests.isEmpty)
            }
        }
    }
}
