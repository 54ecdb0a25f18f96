import ArgumentParser
import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LatticeAPI
import LatticeIdentity
import LatticeModel
import X509

/// `lattice identity`: talk to the identity service as a proxy does.
public struct IdentityCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "identity",
        abstract: "Request a workload certificate from the identity service, as a proxy does.",
        subcommands: [IdentityCertifyCommand.self]
    )

    public init() {}
}

/// `lattice identity certify`: make a P-256 key here, send a CSR with a token, verify and show the leaf.
public struct IdentityCertifyCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "certify",
        abstract: "Send a CSR with a workload token to the identity service and verify the leaf it returns."
    )

    @Option(help: "The identity service (HOST:PORT).")
    var controller: String = "127.0.0.1:\(WellKnown.identityPort)"

    @Option(help: "Trust anchors that the controller's certificate (and the leaf) must chain to.")
    var anchors: String

    @Option(help: "The identity to ask for (<sa>.<ns>.serviceaccount.identity.<cp-ns>.<trust-domain>).")
    var identity: String

    @Option(help: "File holding the workload token.")
    var tokenFile: String

    @Option(help: "The identity the controller must present.")
    var controllerIdentity: String = IdentityDomain.default.controllerIdentity.name

    @Option(help: "Write the leaf and its intermediates (PEM) here.")
    var certOut: String?

    @Option(help: "Write the private key here (0600). By default the key stays in memory and is discarded.")
    var keyOut: String?

    public init() {}

    public func run() async throws {
        guard let address = HostPort(parsing: self.controller) else {
            throw ValidationError("--controller '\(self.controller)' is not HOST:PORT")
        }
        let bundle: TrustBundle
        let token: String
        do {
            bundle = try TrustBundle.load(path: self.anchors)
            token = try PEMDocument.readText(path: self.tokenFile).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw CLIError(error.reason)
        }
        let key = P256.Signing.PrivateKey()
        var request = Lattice_Identity_V1_CertifyRequest()
        request.identity = self.identity
        request.token = Data(token.utf8)
        request.certificateSigningRequest = Data(try CSRBuilder.make(identity: self.identity, key: key))
        let anchorsPath = self.anchors
        let controllerIdentity = self.controllerIdentity
        let transport = try HTTP2ClientTransport.Posix(
            target: .dns(host: address.host, port: address.port),
            transportSecurity: .tls { tls in
                tls.trustRoots = .certificates([.file(path: anchorsPath, format: .pem)])
            },
            config: .defaults { $0.http2.authority = controllerIdentity }
        )
        let response: Lattice_Identity_V1_CertifyResponse
        do {
            response = try await withGRPCClient(transport: transport) { client in
                try await Lattice_Identity_V1_Identity.Client(wrapping: client).certify(request)
            }
        } catch let error as RPCError {
            let reason = error.metadata[stringValues: "lattice-identity-error"].first(where: { _ in true })
            throw CLIError("the identity service refused: \(error.code)\(reason.map { " (\($0))" } ?? ""): \(error.message)")
        }
        let leaf = try Certificate(derEncoded: Array(response.leafCertificate))
        let intermediates = try response.intermediateCertificates.map { try Certificate(derEncoded: Array($0)) }
        guard KeyLoader.matches(key, leaf) else {
            throw CLIError("the controller returned a certificate for another key: refusing it")
        }
        let verdict = await ChainVerifier.verify(
            leaf: leaf,
            intermediates: intermediates,
            anchors: bundle,
            expectedIdentity: self.identity,
            now: Date()
        )
        guard case .valid(let chain) = verdict else {
            if case .invalid(let error) = verdict { throw CLIError("the returned certificate is not valid: \(error.reason)") }
            return
        }
        print("✓ certified \(self.identity)")
        print("  chain: " + chain.map { $0.subject.description.isEmpty ? "(SAN only)" : "'\($0.subject)'" }.joined(separator: " → "))
        print("  valid until: \(leaf.notValidAfter.formatted(.iso8601))  SANs: \(leaf.dnsNames + leaf.uris)")
        if let certOut = self.certOut {
            try CertificateLoader.pem([leaf] + intermediates).write(toFile: certOut, atomically: true, encoding: .utf8)
            print("  certificate written to \(certOut)")
        }
        if let keyOut = self.keyOut {
            guard !FileManager.default.fileExists(atPath: keyOut) else {
                throw CLIError("\(keyOut) already exists; remove it first (keys are never overwritten)")
            }
            do {
                let temp = try SecureFileWriter.writeTemporary(key.pemRepresentation + "\n", beside: keyOut, mode: 0o600)
                guard rename(temp, keyOut) == 0 else { throw CLIError("\(keyOut): cannot write") }
            } catch let error as IdentityError {
                throw CLIError(error.reason)
            }
            print("  key written to \(keyOut) (0600)")
        }
    }
}
