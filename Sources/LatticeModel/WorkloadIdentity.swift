/// The identity a workload proves with its certificate.
///
/// A workload's identity is shaped as Linkerd shapes it, so the names operators already know keep working:
/// `<serviceaccount>.<namespace>.serviceaccount.identity.<control-plane-namespace>.<trust-domain>`. That name is the
/// certificate's DNS SAN and the TLS SNI a client sends; the SPIFFE URI
/// `spiffe://<trust-domain>/ns/<namespace>/sa/<serviceaccount>` rides along for interop.
///
/// It is a value type made only through ``init(serviceAccount:namespace:domain:)`` or ``parse(_:domain:)``, so an
/// identity in hand is always well-formed.
public struct WorkloadIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The Kubernetes ServiceAccount name (a DNS subdomain: it may contain dots).
    public let serviceAccount: String
    /// The Kubernetes namespace (a DNS label).
    public let namespace: String
    /// The control plane's namespace and trust domain the identity belongs to.
    public let domain: IdentityDomain

    /// Makes an identity from its parts, checking each.
    ///
    /// - Throws: ``IdentityNameError`` when a part is not a valid DNS label or subdomain.
    public init(serviceAccount: String, namespace: String, domain: IdentityDomain = .default) throws(IdentityNameError) {
        guard DNSName.isSubdomain(serviceAccount) else {
            throw IdentityNameError("service account '\(serviceAccount)' is not a valid DNS subdomain name")
        }
        guard DNSName.isLabel(namespace) else {
            throw IdentityNameError("namespace '\(namespace)' is not a valid DNS label")
        }
        self.serviceAccount = serviceAccount
        self.namespace = namespace
        self.domain = domain
    }

    /// The DNS name: the certificate's DNS SAN and the SNI.
    public var name: String {
        "\(self.serviceAccount).\(self.namespace).\(self.domain.suffix)"
    }

    /// The SPIFFE ID carried as a URI SAN.
    public var spiffeID: String {
        "spiffe://\(self.domain.trustDomain)/ns/\(self.namespace)/sa/\(self.serviceAccount)"
    }

    public var description: String { self.name }

    /// Parses a DNS identity name within `domain`.
    ///
    /// The namespace is the label just before the `serviceaccount.identity…` suffix; everything before it is the
    /// ServiceAccount name (which may itself contain dots).
    /// - Throws: ``IdentityNameError`` naming what is wrong with `name`.
    public static func parse(_ name: String, domain: IdentityDomain = .default) throws(IdentityNameError) -> Self {
        let lowered = name.lowercased()
        let suffix = "." + domain.suffix
        guard lowered.hasSuffix(suffix) else {
            throw IdentityNameError(
                "'\(name)' is not an identity of this mesh: it must end in '\(suffix)' "
                    + "(<serviceaccount>.<namespace>\(suffix))"
            )
        }
        let prefix = lowered.dropLast(suffix.count)
        guard let dot = prefix.lastIndex(of: ".") else {
            throw IdentityNameError("'\(name)' has no namespace: expected <serviceaccount>.<namespace>\(suffix)")
        }
        let serviceAccount = String(prefix[..<dot])
        let namespace = String(prefix[prefix.index(after: dot)...])
        return try Self(serviceAccount: serviceAccount, namespace: namespace, domain: domain)
    }

    /// Parses a SPIFFE ID of the form `spiffe://<trust-domain>/ns/<ns>/sa/<sa>`.
    public static func parse(spiffeID: String, domain: IdentityDomain = .default) throws(IdentityNameError) -> Self {
        let prefix = "spiffe://\(domain.trustDomain)/ns/"
        guard spiffeID.hasPrefix(prefix) else {
            throw IdentityNameError("'\(spiffeID)' is not a SPIFFE ID in trust domain '\(domain.trustDomain)'")
        }
        let parts = spiffeID.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1] == "sa" else {
            throw IdentityNameError("'\(spiffeID)' is not of the form \(prefix)<namespace>/sa/<serviceaccount>")
        }
        return try Self(serviceAccount: String(parts[2]), namespace: String(parts[0]), domain: domain)
    }
}

/// The part of every identity that names the mesh: the control plane's namespace and the trust domain.
public struct IdentityDomain: Hashable, Sendable {
    public let controlPlaneNamespace: String
    public let trustDomain: String

    public static let `default` = IdentityDomain(uncheckedControlPlaneNamespace: "lattice", trustDomain: "cluster.local")

    public init(controlPlaneNamespace: String, trustDomain: String) throws(IdentityNameError) {
        guard DNSName.isLabel(controlPlaneNamespace) else {
            throw IdentityNameError("control-plane namespace '\(controlPlaneNamespace)' is not a valid DNS label")
        }
        guard DNSName.isSubdomain(trustDomain) else {
            throw IdentityNameError("trust domain '\(trustDomain)' is not a valid DNS name")
        }
        self.controlPlaneNamespace = controlPlaneNamespace
        self.trustDomain = trustDomain
    }

    private init(uncheckedControlPlaneNamespace: String, trustDomain: String) {
        self.controlPlaneNamespace = uncheckedControlPlaneNamespace
        self.trustDomain = trustDomain
    }

    /// `serviceaccount.identity.<control-plane-namespace>.<trust-domain>`
    public var suffix: String {
        "serviceaccount.identity.\(self.controlPlaneNamespace).\(self.trustDomain)"
    }

    /// The identity the controller presents (`lattice-controller.<ns>.serviceaccount.identity.<ns>.<td>`).
    public var controllerIdentity: WorkloadIdentity {
        // The parts are valid by construction.
        try! WorkloadIdentity(serviceAccount: "lattice-controller", namespace: self.controlPlaneNamespace, domain: self)
    }
}

/// An identity name that is not well-formed.
public struct IdentityNameError: Error, Hashable, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { self.reason }
}

/// RFC 1123 name checks.
public enum DNSName {
    /// A lowercase RFC 1123 label: 1–63 of `a-z0-9-`, starting and ending alphanumeric.
    public static func isLabel<S: StringProtocol>(_ s: S) -> Bool {
        let bytes = Array(s.utf8)
        guard !bytes.isEmpty, bytes.count <= 63 else { return false }
        func alnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) }
        guard alnum(bytes.first!), alnum(bytes.last!) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == 0x2d }
    }

    /// A lowercase RFC 1123 subdomain: dot-separated labels, at most 253 characters.
    public static func isSubdomain<S: StringProtocol>(_ s: S) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { self.isLabel($0) }
    }
}
