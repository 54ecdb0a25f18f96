/// Everything ``KubernetesClient`` needs to reach and authenticate to an API server.
///
/// A plain value: it holds PEM text and file paths, never open files or TLS objects, so it can be built and compared
/// in tests and passed across tasks. Build one with ``inCluster(environment:fileRoot:)`` inside a Pod, with
/// ``kubeconfig(path:context:environment:)`` from a kubeconfig file, or directly.
///
/// A token file (the kubelet-rotated projected ServiceAccount token) is read by the client, not here, and re-read at
/// most every ``tokenRefreshInterval`` or when the server answers 401.
public struct KubernetesClientConfig: Sendable, Hashable, CustomStringConvertible {
    /// How the client authenticates.
    public enum Authentication: Sendable, Hashable {
        /// No credentials (anonymous; useful against test servers).
        case none
        /// A fixed bearer token.
        case bearerToken(String)
        /// A bearer token read from a file and re-read when the kubelet rotates it.
        case bearerTokenFile(path: String)
        /// A TLS client certificate: the PEM certificate chain (leaf first) and its PEM private key.
        case clientCertificate(certificateChainPEM: String, privateKeyPEM: String)
    }

    /// The API server's base URL (`https://10.96.0.1:443`); `http://` is accepted for tests. A path prefix, as some
    /// proxies use, is kept and prepended to every request path.
    public var serverURL: String
    /// PEM certificates trusted to sign the API server's certificate; `nil` means the system trust store.
    public var certificateAuthorityPEM: String?
    /// The credentials to send.
    public var authentication: Authentication
    /// Whether the server's certificate is accepted without verification (kubeconfig `insecure-skip-tls-verify`).
    public var isTLSVerificationDisabled: Bool
    /// The default namespace: the Pod's own in-cluster, the context's from a kubeconfig, if known.
    public var namespace: String?
    /// How long a token read from a file is used before the file is read again.
    public var tokenRefreshInterval: Duration
    /// The time limit for ordinary (non-watch) requests, including reading the body.
    public var requestTimeout: Duration
    /// The time limit for opening a connection; async-http-client retries refused connections until it expires.
    public var connectTimeout: Duration

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - serverURL: The API server's base URL.
    ///   - certificateAuthorityPEM: PEM certificates to trust for the server; `nil` for the system trust store.
    ///   - authentication: The credentials to send.
    ///   - isTLSVerificationDisabled: Whether to skip verifying the server's certificate.
    ///   - namespace: The default namespace, if known.
    ///   - tokenRefreshInterval: How long a token read from a file is used before re-reading it.
    ///   - requestTimeout: The time limit for ordinary requests.
    ///   - connectTimeout: The time limit for opening a connection.
    public init(
        serverURL: String,
        certificateAuthorityPEM: String? = nil,
        authentication: Authentication = .none,
        isTLSVerificationDisabled: Bool = false,
        namespace: String? = nil,
        tokenRefreshInterval: Duration = .seconds(60),
        requestTimeout: Duration = .seconds(30),
        connectTimeout: Duration = .seconds(10)
    ) {
        self.serverURL = serverURL
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.authentication = authentication
        self.isTLSVerificationDisabled = isTLSVerificationDisabled
        self.namespace = namespace
        self.tokenRefreshInterval = tokenRefreshInterval
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
    }

    /// A summary that never includes tokens or keys.
    public var description: String {
        let authentication: String
        switch self.authentication {
        case .none: authentication = "none"
        case .bearerToken: authentication = "bearer token (redacted)"
        case .bearerTokenFile(let path): authentication = "bearer token file \(path)"
        case .clientCertificate: authentication = "client certificate"
        }
        var parts = ["server: \(self.serverURL)", "auth: \(authentication)"]
        parts.append("ca: \(self.certificateAuthorityPEM == nil ? "system" : "custom")")
        if self.isTLSVerificationDisabled {
            parts.append("tls verification disabled")
        }
        if let namespace = self.namespace {
            parts.append("namespace: \(namespace)")
        }
        return "KubernetesClientConfig(" + parts.joined(separator: ", ") + ")"
    }
}
