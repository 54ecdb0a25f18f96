import Crypto
import LatticeIdentity
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Obtains the proxy's certificate from the identity service and renews it at 70 % of its lifetime (with
/// jitter), re-reading the token file each time (the kubelet rotates it) and the trust anchors when they change.
///
/// The key is made here, in memory, once per renewal, and never leaves the process. While the identity service is
/// away it retries with capped exponential backoff and keeps serving with the current certificate.
struct CertificateRotationService: Service {
    let config: ProxyConfig
    let credentials: ProxyCredentials
    let metrics: ProxyMetrics
    let group: any EventLoopGroup
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var backoff: Duration = .milliseconds(100)
            var lastAnchors: [UInt8] = []
            var renewAt: Int64 = 0
            while !Task.isCancelled {
                let now = Self.unixNow()
                let anchorsBytes = Self.read(self.config.trustAnchorsFile) ?? []
                let anchorsChanged = !anchorsBytes.isEmpty && anchorsBytes != lastAnchors && !lastAnchors.isEmpty
                if now >= renewAt || anchorsChanged || !self.credentials.isReady {
                    do {
                        let contexts = try await self.certify()
                        self.credentials.install(contexts)
                        lastAnchors = anchorsBytes
                        self.metrics.certExpiry.set(contexts.notAfter)
                        self.metrics.certRefresh.cell(["result": "ok"]).add(1)
                        let lifetime = contexts.notAfter - contexts.notBefore
                        let jitter = Int64.random(in: 0...max(1, lifetime / 20))
                        renewAt = contexts.notBefore + lifetime * 7 / 10 - jitter
                        backoff = .milliseconds(100)
                        self.logger.info(
                            "certified",
                            metadata: [
                                "lattice.identity": "\(self.config.identity.name)",
                                "lattice.cert.not_after": "\(contexts.notAfter)",
                                "lattice.cert.renew_in_s": "\(renewAt - Self.unixNow())",
                            ]
                        )
                    } catch {
                        self.metrics.certRefresh.cell(["result": "failure"]).add(1)
                        self.logger.warning(
                            "cannot obtain a certificate; retrying in \(backoff)",
                            metadata: ["error.type": "\(error)"]
                        )
                        try await Task.sleep(for: backoff)
                        // Without a certificate the proxy serves nothing and holds connections for a bounded time, so
                        // it keeps asking every 2 s at most; holding one, it backs off up to 30 s.
                        backoff = min(backoff * 2, self.credentials.isReady ? .seconds(30) : .seconds(2))
                        continue
                    }
                }
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func certify() async throws -> ProxyCredentials.Contexts {
        guard let token = Self.read(self.config.tokenFile), !token.isEmpty else {
            throw RotationError("cannot read the token file \(self.config.tokenFile)")
        }
        let anchors: [NIOSSLCertificate]
        do {
            anchors = try NIOSSLCertificate.fromPEMFile(self.config.trustAnchorsFile)
        } catch {
            throw RotationError("cannot read the trust anchors \(self.config.trustAnchorsFile): \(error)")
        }
        let key = P256.Signing.PrivateKey()
        let csr = try CSRBuilder.make(identity: self.config.identity.name, key: key)
        let client = IdentityClient(
            host: self.config.identityService.host,
            port: self.config.identityService.port,
            controllerIdentity: self.config.identityServiceName,
            group: self.group,
            timeout: .seconds(10)
        )
        let trimmed = Array(token.reversed().drop(while: { $0 == 0x0a || $0 == 0x0d || $0 == 0x20 }).reversed())
        let certified = try await client.certify(
            identity: self.config.identity.name,
            token: trimmed,
            csr: csr,
            anchors: anchors
        )
        let leaf = try NIOSSLCertificate(bytes: certified.leafDER, format: .der)
        guard try leaf.extractPublicKey().toSPKIBytes() == Array(key.publicKey.derRepresentation) else {
            throw RotationError("the identity service returned a certificate for another key")
        }
        let notBefore = Int64(leaf.notValidBefore)
        return try ProxyCredentials.makeContexts(
            key: key,
            chainDER: [certified.leafDER] + certified.intermediatesDER,
            anchors: anchors,
            notBefore: notBefore,
            notAfter: certified.validUntilSeconds
        )
    }

    static func read(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[0..<n]
            if out.count > 1 << 20 { return nil }
        }
        return out
    }

    static func unixNow() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }
}

struct RotationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
