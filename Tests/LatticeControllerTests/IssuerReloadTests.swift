import Crypto
import Foundation
import LatticeController
import LatticeIdentity
import LatticeModel
import LatticeObservability
import LatticeTestSupport
import Logging
import Testing

@Suite struct IssuerReloadTests {
    @Test func installsGoodIssuersAndKeepsTheLastGoodOne() async throws {
        try await TestFiles.withDirectory { dir in
            let factory = try CertFactory()
            try factory.writeSecret(to: dir)
            let store = IssuerStore(controllerIdentity: IdentityDomain.default.controllerIdentity)
            let registry = MetricsRegistry()
            let service = IssuerReloadService(
                files: IssuerFiles(secretDirectory: dir),
                store: store,
                signer: LeafSigner(),
                interval: .milliseconds(10),
                metrics: IdentityMetrics(factory: registry.factory),
                logger: Logger(label: "test")
            )
            var poller = IssuerReloadService.Poller()
            await service.poll(&poller)
            #expect(store.issuer?.certificate == factory.issuer)
            let serving = try #require(store.serving)
            #expect(serving.leaf.dnsNames == [IdentityDomain.default.controllerIdentity.name])
            #expect(store.sslContextConfigurationOverride.certificateChain?.count == 2)

            // An expired issuer is refused; the old one stays.
            let expired = try factory.makeIssuer(notBefore: Date() - 7200, notAfter: Date() - 60)
            try TestFiles.write(CertificateLoader.pem([expired.certificate]), to: "\(dir)/tls.crt")
            try TestFiles.write(expired.key.pemRepresentation, to: "\(dir)/tls.key")
            await service.poll(&poller)
            #expect(store.issuer?.certificate == factory.issuer)

            // An issuer from another anchor is refused too.
            let stranger = try CertFactory()
            try TestFiles.write(CertificateLoader.pem([stranger.issuer]), to: "\(dir)/tls.crt")
            try TestFiles.write(stranger.issuerKey.pemRepresentation, to: "\(dir)/tls.key")
            await service.poll(&poller)
            #expect(store.issuer?.certificate == factory.issuer)

            // An RSA-shaped mistake: key and certificate that don't match.
            try TestFiles.write(CertificateLoader.pem([factory.issuer]), to: "\(dir)/tls.crt")
            await service.poll(&poller)
            #expect(store.issuer?.certificate == factory.issuer)

            // The renewed issuer is installed, and signs from now on.
            let renewed = try factory.makeIssuer()
            try TestFiles.write(CertificateLoader.pem([renewed.certificate]), to: "\(dir)/tls.crt")
            try TestFiles.write(renewed.key.pemRepresentation, to: "\(dir)/tls.key")
            await service.poll(&poller)
            #expect(store.issuer?.certificate == renewed.certificate)
            #expect(store.serving?.leaf.issuer == renewed.certificate.subject)

            let text = String(decoding: registry.exposition(), as: UTF8.self)
            #expect(text.contains(#"lattice_identity_issuer_reloads_total{result="ok"} 2"#))
            #expect(text.contains(#"lattice_identity_issuer_reloads_total{result="expired"} 1"#))
            #expect(text.contains(#"lattice_identity_issuer_reloads_total{result="untrusted"} 1"#))
            #expect(text.contains(#"lattice_identity_issuer_reloads_total{result="key_mismatch"} 1"#))
            #expect(text.contains("lattice_identity_issuer_expiration_timestamp_seconds"))
        }
    }
}
