import Crypto
import FoundationEssentials
import LatticeIdentity
import LatticeModel
import X509

/// The webhook's serving credentials, generated at install as the chart does with `genCA`/`genSignedCert`: a
/// self-signed CA (its certificate is the MutatingWebhookConfiguration's `caBundle`) and a serving certificate for
/// `lattice-webhook.<namespace>.svc` signed by it. They are made fresh on every render (as Helm's are on every
/// upgrade); the controller reloads its serving certificate when the Secret changes.
public struct WebhookCertificates: Sendable {
    public let caPEM: String
    public let certificatePEM: String
    public let keyPEM: String

    /// The DNS names the API server may use to reach the webhook Service.
    public static func dnsNames(namespace: String) -> [String] {
        let service = ControlPlaneNames.webhookService
        return ["\(service).\(namespace).svc", "\(service).\(namespace).svc.cluster.local", "\(service).\(namespace)", service]
    }

    /// - Throws: ``ManifestsError/Code/invalidValue`` when the namespace cannot be part of an identity.
    public static func generate(namespace: String, validityDays: Int, now: Date) throws(ManifestsError) -> WebhookCertificates {
        do {
            let caKey = P256.Signing.PrivateKey()
            let notBefore = now.addingTimeInterval(-300)
            let notAfter = now.addingTimeInterval(Double(validityDays) * 86_400)
            let ca = try CertificateFactory.makeRoot(
                commonName: "lattice-webhook-ca",
                key: caKey,
                notBefore: notBefore,
                notAfter: notAfter
            )
            let key = P256.Signing.PrivateKey()
            let domain = try IdentityDomain(controlPlaneNamespace: namespace, trustDomain: "cluster.local")
            let serving = try CertificateFactory.makeLeaf(
                identity: domain.controllerIdentity,
                extraDNSNames: self.dnsNames(namespace: namespace),
                publicKey: Certificate.PublicKey(key.publicKey),
                issuer: .init(certificate: ca, key: caKey),
                notBefore: notBefore,
                notAfter: notAfter,
                now: now
            )
            return WebhookCertificates(
                caPEM: CertificateLoader.pem([ca]),
                certificatePEM: CertificateLoader.pem([serving]),
                keyPEM: key.pemRepresentation
            )
        } catch let error as IdentityError {
            throw ManifestsError(.invalidValue, "cannot make the webhook certificate: \(error.reason)")
        } catch let error as IdentityNameError {
            throw ManifestsError(.invalidValue, "cannot make the webhook certificate: \(error.reason)")
        } catch {
            throw ManifestsError(.invalidValue, "cannot make the webhook certificate: \(error)")
        }
    }
}
