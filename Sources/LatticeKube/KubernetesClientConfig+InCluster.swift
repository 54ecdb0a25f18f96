import Foundation

extension KubernetesClientConfig {
    /// Where the kubelet mounts a Pod's ServiceAccount token, CA bundle and namespace.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The configuration for a client running inside a Pod, as client-go's `rest.InClusterConfig` builds it.
    ///
    /// Reads `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT` from `environment`, and `token`, `ca.crt` and
    /// (optionally) `namespace` from ``serviceAccountDirectory`` under `fileRoot`. The token is not read here: the
    /// client reads it from the file and re-reads it as the kubelet rotates it.
    ///
    /// - Parameters:
    ///   - environment: The process environment; injectable for tests.
    ///   - fileRoot: The directory the service-account path is resolved under; `/` in a Pod, a temporary directory
    ///     in tests.
    /// - Returns: A configuration with bearer-token-file authentication and the mounted CA bundle.
    /// - Throws: ``KubernetesError`` with code ``KubernetesError/Code/config`` naming the missing variable or file.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        fileRoot: String = "/"
    ) throws -> KubernetesClientConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw KubernetesError(
                code: .config,
                reason: "not running in a cluster: environment variable KUBERNETES_SERVICE_HOST is not set"
            )
        }
        guard let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty else {
            throw KubernetesError(
                code: .config,
                reason: "not running in a cluster: environment variable KUBERNETES_SERVICE_PORT is not set"
            )
        }
        guard let portNumber = Int(port), (1...65535).contains(portNumber) else {
            throw KubernetesError(
                code: .config,
                reason: "environment variable KUBERNETES_SERVICE_PORT is not a port number: \"\(port)\""
            )
        }
        var root = fileRoot
        while root.hasSuffix("/") {
            root.removeLast()
        }
        let directory = root + Self.serviceAccountDirectory
        let tokenPath = directory + "/token"
        let caPath = directory + "/ca.crt"
        let namespacePath = directory + "/namespace"

        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubernetesError(code: .config, reason: "cannot read the ServiceAccount token file \(tokenPath)")
        }
        let caPEM = try ConfigFile.readText(caPath, what: "the ServiceAccount CA bundle")
        guard caPEM.contains("-----BEGIN CERTIFICATE-----") else {
            throw KubernetesError(
                code: .config,
                reason: "the ServiceAccount CA bundle \(caPath) holds no PEM certificate"
            )
        }
        let namespace: String?
        if FileManager.default.fileExists(atPath: namespacePath) {
            let text = try ConfigFile.readText(namespacePath, what: "the ServiceAccount namespace file")
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            namespace = trimmed.isEmpty ? nil : trimmed
        } else {
            namespace = nil
        }
        // An IPv6 service host must be bracketed in a URL.
        let urlHost = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return KubernetesClientConfig(
            serverURL: "https://\(urlHost):\(portNumber)",
            certificateAuthorityPEM: caPEM,
            authentication: .bearerTokenFile(path: tokenPath),
            namespace: namespace
        )
    }
}

/// Reading configuration files with errors that name the file.
enum ConfigFile {
    /// The UTF-8 contents of `path`.
    ///
    /// - Parameters:
    ///   - path: The file to read.
    ///   - what: What the file is, for the error message.
    /// - Throws: ``KubernetesError`` with code ``KubernetesError/Code/config`` naming `what` and `path`.
    static func readText(_ path: String, what: String) throws -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw KubernetesError(code: .config, reason: "cannot read \(what) \(path): \(Self.describe(error))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw KubernetesError(code: .config, reason: "\(what) \(path) is not UTF-8 text")
        }
        return text
    }

    /// A short description of a file-system error, without Foundation's long user-info dump.
    static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        if nsError.domain == NSCocoaErrorDomain {
            switch nsError.code {
            case NSFileReadNoSuchFileError: return "no such file"
            case NSFileReadNoPermissionError: return "permission denied"
            default: break
            }
        }
        return nsError.localizedDescription
    }
}
