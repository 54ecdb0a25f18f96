import Crypto
import LatticeIdentity
import NIOCore
import NIOSSL
import Synchronization

/// The proxy's current TLS contexts, built from its leaf, its key and the trust anchors.
///
/// New connections read the current contexts; open connections keep the ones they started with. The rotation
/// service builds new contexts off the event loops and swaps them in under a short lock.
final class ProxyCredentials: Sendable {
    struct Contexts: Sendable {
        /// Terminates mesh TLS on the inbound side: TLS 1.3, a client certificate from the anchors required.
        let server: NIOSSLContext
        /// Originates mesh TLS on the outbound side: TLS 1.3, the server must present the identity named as SNI.
        let client: NIOSSLContext
        /// The leaf's notAfter, Unix seconds.
        let notAfter: Int64
        let notBefore: Int64
    }

    private let contexts = Mutex<Contexts?>(nil)

    var current: Contexts? { self.contexts.withLock { $0 } }
    var isReady: Bool { self.current != nil }

    func install(_ contexts: Contexts) {
        self.contexts.withLock { $0 = contexts }
    }

    /// Builds both contexts.
    static func makeContexts(
        key: P256.Signing.PrivateKey,
        chainDER: [[UInt8]],
        anchors: [NIOSSLCertificate],
        notBefore: Int64,
        notAfter: Int64
    ) throws -> Contexts {
        let chain = try chainDER.map { try NIOSSLCertificate(bytes: $0, format: .der) }
        let privateKey = try NIOSSLPrivateKey(bytes: Array(key.derRepresentation), format: .der)
        var server = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(privateKey)
        )
        server.minimumTLSVersion = .tlsv13
        server.trustRoots = .certificates(anchors)
        // Require a client certificate chaining to the anchors; which identities may pass is policy's call.
        server.certificateVerification = .noHostnameVerification
        var client = TLSConfiguration.makeClientConfiguration()
        client.minimumTLSVersion = .tlsv13
        client.certificateChain = chain.map { .certificate($0) }
        client.privateKey = .privateKey(privateKey)
        client.trustRoots = .certificates(anchors)
        // The server's certificate must carry the identity we dial it by (the SNI) as a DNS SAN.
        client.certificateVerification = .fullVerification
        return Contexts(
            server: try NIOSSLContext(configuration: server),
            client: try NIOSSLContext(configuration: client),
            notAfter: notAfter,
            notBefore: notBefore
        )
    }
}
