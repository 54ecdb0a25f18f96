import FoundationEssentials
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

/// The outcome of checking a certificate chain.
public enum ChainVerdict: Sendable {
    /// The chain is valid; `chain` runs from the leaf to the anchor.
    case valid(chain: [Certificate])
    /// The chain is not valid; the error names the first fault found.
    case invalid(IdentityError)

    public var isValid: Bool {
        if case .valid = self { return true }
        return false
    }
}

/// Checks chains the way proxies do: RFC 5280 path validation against the trust anchors (signatures, validity,
/// CA flags, path lengths, key usage), plus, when given, the identity the leaf must carry as a DNS SAN.
///
/// swift-certificates' `Verifier` decides; when it refuses, ``diagnose(leaf:intermediates:anchors:now:)`` walks the
/// chain to name the fault, since the verifier's own failure list can be empty when no path exists.
public enum ChainVerifier {
    public static func verify(
        leaf: Certificate,
        intermediates: [Certificate],
        anchors: TrustBundle,
        expectedIdentity: String? = nil,
        now: Date
    ) async -> ChainVerdict {
        var verifier = Verifier(rootCertificates: CertificateStore(anchors.anchors)) {
            RFC5280Policy(fixedExpiryValidationTime: now)
            ExpectedIdentityPolicy(expected: expectedIdentity)
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates))
        switch result {
        case .validCertificate(let chain):
            return .valid(chain: Array(chain))
        case .couldNotValidate(let failures):
            if let expected = expectedIdentity,
                !leaf.dnsNames.contains(where: { $0.lowercased() == expected.lowercased() })
            {
                let has = leaf.dnsNames.isEmpty ? "no DNS SAN" : "DNS SANs \(leaf.dnsNames)"
                return .invalid(IdentityError(.wrongSAN, "the certificate is not for '\(expected)': it has \(has)"))
            }
            if let fault = self.diagnose(leaf: leaf, intermediates: intermediates, anchors: anchors, now: now) {
                return .invalid(fault)
            }
            let reasons = failures.map { String(describing: $0.policyFailureReason) }.joined(separator: "; ")
            return .invalid(
                IdentityError(.untrusted, "the chain does not validate" + (reasons.isEmpty ? "" : ": \(reasons)"))
            )
        }
    }

    /// Walks leaf → intermediates → anchor and names the first fault, or nil when none of the simple checks fails.
    public static func diagnose(
        leaf: Certificate,
        intermediates: [Certificate],
        anchors: TrustBundle,
        now: Date
    ) -> IdentityError? {
        var current = leaf
        var role = "the certificate"
        var caBelow = 0  // CAs between `current` and the leaf, for path length checks.
        for _ in 0...(intermediates.count + 1) {
            do {
                try ValidityWindow.check(current, at: now, role: role)
            } catch {
                return error
            }
            if let anchor = anchors.anchors.first(where: { self.signed(current, by: $0) }) {
                return self.checkCA(anchor, role: "the trust anchor", caBelow: caBelow, now: now)
            }
            guard let parent = intermediates.first(where: { $0 != current && self.signed(current, by: $0) }) else {
                let issuer = current.issuer.description
                return IdentityError(
                    .untrusted,
                    "\(role) '\(current.subject)' was issued by '\(issuer)', which is not signed by any trust anchor "
                        + "(\(anchors.anchors.map { $0.subject.description }))"
                )
            }
            if let fault = self.checkCA(parent, role: "the issuer", caBelow: caBelow, now: now) {
                return fault
            }
            caBelow += 1
            current = parent
            role = "the issuer"
        }
        return nil
    }

    static func checkCA(_ ca: Certificate, role: String, caBelow: Int, now: Date) -> IdentityError? {
        let constraint = ca.caConstraint
        guard constraint.isCA else {
            return IdentityError(.notACertificateAuthority, "\(role) '\(ca.subject)' is not a CA (CA:FALSE)")
        }
        if let pathLength = constraint.maxPathLength, caBelow > pathLength {
            return IdentityError(
                .pathLengthExceeded,
                "\(role) '\(ca.subject)' has pathlen \(pathLength) but \(caBelow) CA(s) sit below it"
            )
        }
        do {
            try ValidityWindow.check(ca, at: now, role: role)
        } catch {
            return error
        }
        return nil
    }

    static func signed(_ certificate: Certificate, by issuer: Certificate) -> Bool {
        certificate.issuer == issuer.subject && issuer.publicKey.isValidSignature(certificate.signature, for: certificate)
    }
}

/// A verifier policy: the leaf must carry `expected` as a DNS SAN (case-insensitive), when `expected` is set.
struct ExpectedIdentityPolicy: VerifierPolicy {
    let expected: String?
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.subjectAlternativeName]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        guard let expected = self.expected?.lowercased() else { return .meetsPolicy }
        if chain.leaf.dnsNames.contains(where: { $0.lowercased() == expected }) {
            return .meetsPolicy
        }
        return .failsToMeetPolicy(reason: "leaf does not carry the identity \(expected)")
    }
}
