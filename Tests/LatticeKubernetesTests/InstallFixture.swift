import Crypto
import FoundationEssentials
import LatticeIdentity
import LatticeManifests
import LatticeTestSupport
import X509

#if canImport(Glibc)
import Glibc
#endif

/// A trust anchor, an issuer and their PEMs, generated per test, and the values that carry them.
struct InstallFixture {
    let certs: CertFactory
    let anchorsPEM: String
    let issuerPEM: String
    let issuerKeyPEM: String

    init(issuerLifetime: Double = 365 * 86_400) throws {
        self.certs = try CertFactory(issuerLifetime: issuerLifetime)
        self.anchorsPEM = CertificateLoader.pem([self.certs.anchor])
        self.issuerPEM = CertificateLoader.pem([self.certs.issuer])
        self.issuerKeyPEM = self.certs.issuerKey.pemRepresentation
    }

    var now: Date { self.certs.referenceTime }

    /// The three PEMs as values (what `--set-file` puts there).
    var credentials: ValueTree {
        [
            "identityTrustAnchorsPEM": .string(self.anchorsPEM),
            "identity": ["issuer": ["tls": ["crtPEM": .string(self.issuerPEM), "keyPEM": .string(self.issuerKeyPEM)]]],
        ]
    }

    /// Values decoded from the chart's defaults plus `overlays`.
    func values(_ overlays: ValueTree...) throws -> InstallValues {
        var tree = InstallValues.defaults.merged(with: self.credentials)
        for overlay in overlays { tree = tree.merged(with: overlay) }
        return try InstallValues.decode(tree)
    }
}

enum SecretFiles {
    /// Writes a file only its owner can read (keys, and values that hold keys).
    static func write(_ text: String, to path: String) throws {
        _ = FileManager.default.createFile(
            atPath: path,
            contents: Data(text.utf8),
            attributes: [.posixPermissions: 0o600]
        )
        guard TestFiles.mode(path) == 0o600 else { throw TestFailure("\(path) is not 0600") }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The repository's root (for charts/ and scripts/).
enum Repository {
    static var root: String {
        var url = URL(filePath: #filePath)
        for _ in 0..<3 { url = url.deletingLastPathComponent() }
        return url.path.hasSuffix("/") ? String(url.path.dropLast()) : url.path
    }

    static func path(_ relative: String) -> String { "\(self.root)/\(relative)" }
}
