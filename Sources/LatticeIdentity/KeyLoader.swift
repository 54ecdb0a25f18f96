import Crypto
import FoundationEssentials
import X509
import _CryptoExtras

/// Loads and checks keys: Lattice signs with ECDSA P-256 only, and says so when handed anything else.
public enum KeyLoader {
    /// Parses an ECDSA P-256 private key from PEM (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`, as `openssl`,
    /// `step` and cert-manager write them).
    ///
    /// - Throws: ``IdentityError/Code/unsupportedKey`` for RSA, P-384, P-521 or Ed25519 keys (naming the type);
    ///   ``IdentityError/Code/malformedKey`` when the PEM holds no key or an encrypted one.
    public static func p256PrivateKey(pem: String, source: String) throws(IdentityError) -> P256.Signing.PrivateKey {
        let blocks = try PEMDocument.blocks(in: pem, source: source)
        guard let block = blocks.first(where: { $0.label.hasSuffix("PRIVATE KEY") }) else {
            let labels = blocks.map(\.label).joined(separator: ", ")
            throw IdentityError(.malformedKey, "\(source): no private key in the file (found: \(labels))")
        }
        if block.label == "ENCRYPTED PRIVATE KEY" || pem.contains("Proc-Type: 4,ENCRYPTED") {
            throw IdentityError(
                .malformedKey,
                "\(source): the key is encrypted; Lattice needs an unencrypted key (create it with --no-password --insecure)"
            )
        }
        let text = PEMDocument.encode(label: block.label, der: block.der)
        if let key = try? P256.Signing.PrivateKey(pemRepresentation: text) {
            return key
        }
        throw IdentityError(
            .unsupportedKey,
            "\(source): \(Self.keyTypeName(pem: text)) key; Lattice needs an ECDSA P-256 key "
                + "(cert-manager: set privateKey.algorithm: ECDSA and size: 256)"
        )
    }

    /// Reads a P-256 private key from a file.
    public static func p256PrivateKey(path: String) throws(IdentityError) -> P256.Signing.PrivateKey {
        try self.p256PrivateKey(pem: try PEMDocument.readText(path: path), source: path)
    }

    /// Names the type of a key that is not P-256, for error messages.
    static func keyTypeName(pem: String) -> String {
        if (try? P384.Signing.PrivateKey(pemRepresentation: pem)) != nil { return "an ECDSA P-384" }
        if (try? P521.Signing.PrivateKey(pemRepresentation: pem)) != nil { return "an ECDSA P-521" }
        if (try? _RSA.Signing.PrivateKey(unsafePEMRepresentation: pem)) != nil { return "an RSA" }
        if (try? Certificate.PrivateKey(pemEncoded: pem)) != nil { return "an unsupported (not ECDSA P-256)" }
        return "an unreadable or unsupported"
    }

    /// Names a certificate's public key type (`ECDSA P-256`, `RSA`, …).
    public static func keyTypeName(of key: Certificate.PublicKey) -> String {
        if P256.Signing.PublicKey(key) != nil { return "ECDSA P-256" }
        if P384.Signing.PublicKey(key) != nil { return "ECDSA P-384" }
        if P521.Signing.PublicKey(key) != nil { return "ECDSA P-521" }
        if _RSA.Signing.PublicKey(key) != nil { return "RSA" }
        return "other"
    }

    /// True when `key` is the private half of `certificate`'s public key.
    public static func matches(_ key: P256.Signing.PrivateKey, _ certificate: Certificate) -> Bool {
        guard let publicKey = P256.Signing.PublicKey(certificate.publicKey) else { return false }
        return publicKey.rawRepresentation == key.publicKey.rawRepresentation
    }
}
