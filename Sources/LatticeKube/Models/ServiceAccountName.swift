/// A ServiceAccount, named by namespace and name, as parsed from an authenticated username.
///
/// Kubernetes authenticates a ServiceAccount token as the user `system:serviceaccount:<namespace>:<name>`; the mesh
/// identity is derived from these two parts, so anything else (a node, a human, a malformed name) is refused rather
/// than guessed at.
public struct ServiceAccountName: Sendable, Hashable, CustomStringConvertible {
    /// The prefix of every ServiceAccount username.
    public static let usernamePrefix = "system:serviceaccount:"

    /// The ServiceAccount's namespace.
    public var namespace: String
    /// The ServiceAccount's name.
    public var name: String

    /// Creates a ServiceAccount name from its parts.
    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// Parses a ServiceAccount username.
    ///
    /// - Parameter username: A username such as `system:serviceaccount:default:web`.
    /// - Throws: ``KubernetesError`` with code ``KubernetesError/Code/notServiceAccount`` if the username is not a
    ///   ServiceAccount's or its namespace or name is not a valid Kubernetes name.
    public init(username: String) throws {
        guard username.hasPrefix(Self.usernamePrefix) else {
            throw KubernetesError(
                code: .notServiceAccount,
                reason: "username \"\(username)\" is not a ServiceAccount's (\(Self.usernamePrefix)<namespace>:<name>)"
            )
        }
        let parts = username.dropFirst(Self.usernamePrefix.count).split(
            separator: ":",
            omittingEmptySubsequences: false
        )
        guard parts.count == 2 else {
            throw KubernetesError(
                code: .notServiceAccount,
                reason: "ServiceAccount username \"\(username)\" must have exactly two parts after the prefix"
            )
        }
        let namespace = String(parts[0])
        let name = String(parts[1])
        guard Self.isDNSLabel(namespace) else {
            throw KubernetesError(
                code: .notServiceAccount,
                reason: "ServiceAccount username \"\(username)\" has an invalid namespace \"\(namespace)\""
            )
        }
        guard Self.isDNSSubdomain(name) else {
            throw KubernetesError(
                code: .notServiceAccount,
                reason: "ServiceAccount username \"\(username)\" has an invalid name \"\(name)\""
            )
        }
        self.init(namespace: namespace, name: name)
    }

    /// The username Kubernetes authenticates this ServiceAccount as.
    public var username: String {
        Self.usernamePrefix + self.namespace + ":" + self.name
    }

    public var description: String {
        self.namespace + "/" + self.name
    }

    /// Whether `value` is an RFC 1123 label (namespace names): 1–63 of `[a-z0-9-]`, alphanumeric at both ends.
    private static func isDNSLabel(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard (1...63).contains(bytes.count) else {
            return false
        }
        guard Self.isAlphanumeric(bytes.first!), Self.isAlphanumeric(bytes.last!) else {
            return false
        }
        return bytes.allSatisfy { Self.isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    /// Whether `value` is an RFC 1123 subdomain (ServiceAccount names): dot-separated labels, at most 253 bytes.
    private static func isDNSSubdomain(_ value: String) -> Bool {
        guard (1...253).contains(value.utf8.count) else {
            return false
        }
        return value.split(separator: ".", omittingEmptySubsequences: false).allSatisfy {
            Self.isDNSLabel(String($0))
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

extension UserInfo {
    /// The ServiceAccount this user is, parsed from ``username``.
    ///
    /// - Returns: The ServiceAccount's namespace and name.
    /// - Throws: ``KubernetesError`` with code ``KubernetesError/Code/notServiceAccount`` if there is no username or
    ///   it is not a ServiceAccount's.
    public func serviceAccountName() throws -> ServiceAccountName {
        guard let username = self.username else {
            throw KubernetesError(code: .notServiceAccount, reason: "the authenticated user has no username")
        }
        return try ServiceAccountName(username: username)
    }
}
