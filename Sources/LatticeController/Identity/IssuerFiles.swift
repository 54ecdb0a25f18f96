import FoundationEssentials
import LatticeIdentity
import LatticeModel

/// Where the issuer and trust anchors are read from: a mounted `kubernetes.io/tls` Secret (`tls.crt`, `tls.key`,
/// `ca.crt`) or three explicit files.
public struct IssuerFiles: Sendable, Hashable {
    public let certificatePath: String
    public let keyPath: String
    public let anchorsPath: String

    public init(certificatePath: String, keyPath: String, anchorsPath: String) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.anchorsPath = anchorsPath
    }

    /// The files of a Secret mounted at `directory`.
    public init(secretDirectory directory: String) {
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        self.init(
            certificatePath: "\(base)/\(WellKnown.secretCertificateFile)",
            keyPath: "\(base)/\(WellKnown.secretKeyFile)",
            anchorsPath: "\(base)/\(WellKnown.secretCAFile)"
        )
    }

    /// The files' bytes together, to notice a change cheaply. Nil when a file cannot be read.
    func snapshot() -> [UInt8]? {
        var all: [UInt8] = []
        for path in [self.certificatePath, self.keyPath, self.anchorsPath] {
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            all += Array(data)
            all.append(0)
        }
        return all
    }

    /// Loads and validates the issuer.
    func load(now: Date) async throws(IdentityError) -> IssuerCredentials {
        try await IssuerCredentials.load(
            certificatePath: self.certificatePath,
            keyPath: self.keyPath,
            anchorsPath: self.anchorsPath,
            now: now
        )
    }
}
