import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LatticeAPI
import LatticeModel
import LatticeTestSupport
import Testing

/// A `lattice-controller` running as a real process on loopback, with its anchor and issuer made by the real
/// `lattice certs` (the runbook's Step 2).
final class ControllerProcess: @unchecked Sendable {
    // Touched only by the test that owns it.
    let directory: String
    let process: BackgroundProcess
    let identityPort: Int
    let adminPort: Int

    static func makeRunbookCertificates(in directory: String) throws {
        let lattice = ProcessRunner.executable("lattice")
        for arguments in [
            ["certs", "create", "root.linkerd.cluster.local", "ca.crt", "ca.key", "--profile", "root-ca",
             "--no-password", "--insecure"],
            ["certs", "create", "identity.linkerd.cluster.local", "issuer.crt", "issuer.key", "--profile",
             "intermediate-ca", "--not-after", "8760h", "--no-password", "--insecure", "--ca", "ca.crt", "--ca-key",
             "ca.key"],
        ] {
            let result = try ProcessRunner.run(lattice, arguments, currentDirectory: directory)
            try #require(result.status == 0, "lattice \(arguments.joined(separator: " ")): \(result.stderr)")
        }
    }

    init(directory: String, identityPort: Int = 0, extraArguments: [String] = []) async throws {
        self.directory = directory
        try TestFiles.write(
            """
            web-token      default/web
            db-token       default/db
            expired-token  default/web   2020-01-01T00:00:00Z
            """,
            to: "\(directory)/tokens"
        )
        let addresses = "\(directory)/addresses.json"
        self.process = try BackgroundProcess(
            ProcessRunner.executable("lattice-controller"),
            [
                "--identity-addr", "127.0.0.1:\(identityPort)", "--admin-addr", "127.0.0.1:0",
                "--issuer-certificate", "\(directory)/issuer.crt", "--issuer-key", "\(directory)/issuer.key",
                "--trust-anchors", "\(directory)/ca.crt", "--tokens-file", "\(directory)/tokens",
                "--reload-interval", "100ms", "--addresses-file", addresses,
            ] + extraArguments,
            logPath: "\(directory)/controller.log"
        )
        let started = await eventually(timeout: .seconds(30)) { FileManager.default.fileExists(atPath: addresses) }
        try #require(started, "the controller did not start: \(self.process.log)")
        struct Addresses: Decodable {
            let identity: String
            let admin: String
        }
        let parsed = try JSONDecoder().decode(Addresses.self, from: Data(contentsOf: URL(filePath: addresses)))
        self.identityPort = Int(parsed.identity.split(separator: ":").last ?? "") ?? 0
        self.adminPort = Int(parsed.admin.split(separator: ":").last ?? "") ?? 0
        try #require(self.identityPort > 0 && self.adminPort > 0, "addresses: \(parsed)")
    }

    func stop() { self.process.stop() }

    /// Runs `body` with an Identity client that verifies the controller's identity against the anchors.
    func withIdentityClient<T: Sendable>(
        _ body: (Lattice_Identity_V1_Identity.Client<HTTP2ClientTransport.Posix>) async throws -> T
    ) async throws -> T {
        let anchors = "\(self.directory)/ca.crt"
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: self.identityPort),
            transportSecurity: .tls { tls in
                tls.trustRoots = .certificates([.file(path: anchors, format: .pem)])
                tls.serverCertificateVerification = .fullVerification
            },
            config: .defaults { config in
                config.http2.authority = IdentityDomain.default.controllerIdentity.name
            }
        )
        return try await withGRPCClient(transport: transport) { client in
            try await body(Lattice_Identity_V1_Identity.Client(wrapping: client))
        }
    }

    /// Fetches an admin endpoint with curl-free plain sockets (URLSession is not on every Linux toolchain).
    func admin(_ path: String) throws -> String {
        let result = try ProcessRunner.run(
            "/usr/bin/env",
            ["python3", "-c", "import urllib.request,sys;print(urllib.request.urlopen(sys.argv[1]).read().decode())",
             "http://127.0.0.1:\(self.adminPort)\(path)"]
        )
        try #require(result.status == 0, "GET \(path): \(result.stderr)")
        return result.stdout
    }
}
