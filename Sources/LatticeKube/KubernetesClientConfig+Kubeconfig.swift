import Foundation
import Yams

extension KubernetesClientConfig {
    /// The configuration for a context of a kubeconfig file, as `kubectl` reads it.
    ///
    /// Reads `current-context` (or `context`), then the context's cluster (`server`, `certificate-authority` or
    /// `certificate-authority-data`, `insecure-skip-tls-verify`) and user (`token`, `tokenFile`, or
    /// `client-certificate(-data)` with `client-key(-data)`). Relative file paths are resolved against the
    /// kubeconfig's directory. A token takes precedence over a client certificate. Exec and auth-provider plugins are
    /// not supported.
    ///
    /// - Parameters:
    ///   - path: The kubeconfig file; `nil` means the first entry of `$KUBECONFIG`, else `$HOME/.kube/config`.
    ///   - context: The context to use; `nil` means the file's `current-context`.
    ///   - environment: The process environment, consulted when `path` is `nil`; injectable for tests.
    /// - Returns: The configuration for the context.
    /// - Throws: ``KubernetesError`` with code ``KubernetesError/Code/config`` naming the file and the missing or
    ///   invalid field.
    public static func kubeconfig(
        path: String? = nil,
        context: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> KubernetesClientConfig {
        let resolvedPath = try path ?? Self.defaultKubeconfigPath(environment: environment)
        let text = try ConfigFile.readText(resolvedPath, what: "kubeconfig")
        let directory = (resolvedPath as NSString).deletingLastPathComponent
        return try KubeconfigParser(path: resolvedPath, directory: directory).parse(text, context: context)
    }

    /// The kubeconfig `kubectl` would use: the first entry of `$KUBECONFIG`, else `$HOME/.kube/config`.
    static func defaultKubeconfigPath(environment: [String: String]) throws -> String {
        if let list = environment["KUBECONFIG"],
            let first = list.split(separator: ":").first(where: { !$0.isEmpty })
        {
            return String(first)
        }
        guard let home = environment["HOME"], !home.isEmpty else {
            throw KubernetesError(code: .config, reason: "no kubeconfig: neither KUBECONFIG nor HOME is set")
        }
        return (home as NSString).appendingPathComponent(".kube/config")
    }
}

/// Turns kubeconfig YAML into a ``KubernetesClientConfig``, with errors that name the file and the field.
struct KubeconfigParser {
    /// The file's path, for error messages.
    let path: String
    /// The directory relative paths are resolved against.
    let directory: String

    /// Parses `text` and builds the configuration for `context` (or the current context).
    func parse(_ text: String, context contextName: String?) throws -> KubernetesClientConfig {
        let file: KubeconfigFile
        do {
            file = try YAMLDecoder().decode(KubeconfigFile.self, from: text)
        } catch let error as DecodingError {
            throw self.error("is not a valid kubeconfig: \(Self.describe(error))")
        } catch {
            throw self.error("is not valid YAML: \(error)")
        }

        guard let name = contextName ?? file.currentContext.flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw self.error("has no current-context and no context was given")
        }
        guard let context = file.contexts?.first(where: { $0.name == name })?.context else {
            let available = (file.contexts ?? []).map(\.name).joined(separator: ", ")
            throw self.error("has no context \"\(name)\" (available: \(available.isEmpty ? "none" : available))")
        }
        guard let clusterName = context.cluster, !clusterName.isEmpty else {
            throw self.error("context \"\(name)\" has no cluster")
        }
        guard let cluster = file.clusters?.first(where: { $0.name == clusterName })?.cluster else {
            throw self.error("has no cluster \"\(clusterName)\" (used by context \"\(name)\")")
        }
        guard let server = cluster.server, !server.isEmpty else {
            throw self.error("cluster \"\(clusterName)\" has no server")
        }

        let field = "clusters[\(clusterName)].cluster"
        let caPEM = try self.pem(
            data: cluster.certificateAuthorityData,
            file: cluster.certificateAuthority,
            field: "\(field).certificate-authority"
        )

        let authentication: KubernetesClientConfig.Authentication
        if let userName = context.user, !userName.isEmpty {
            guard let user = file.users?.first(where: { $0.name == userName })?.user else {
                throw self.error("has no user \"\(userName)\" (used by context \"\(name)\")")
            }
            authentication = try self.authentication(for: user, named: userName)
        } else {
            authentication = .none
        }

        return KubernetesClientConfig(
            serverURL: server,
            certificateAuthorityPEM: caPEM,
            authentication: authentication,
            isTLSVerificationDisabled: cluster.insecureSkipTLSVerify ?? false,
            namespace: context.namespace.flatMap { $0.isEmpty ? nil : $0 }
        )
    }

    private func authentication(
        for user: KubeconfigFile.User,
        named userName: String
    ) throws -> KubernetesClientConfig.Authentication {
        let field = "users[\(userName)].user"
        if let token = user.token, !token.isEmpty {
            return .bearerToken(token)
        }
        if let tokenFile = user.tokenFile, !tokenFile.isEmpty {
            return .bearerTokenFile(path: self.resolve(tokenFile))
        }
        let certificate = try self.pem(
            data: user.clientCertificateData,
            file: user.clientCertificate,
            field: "\(field).client-certificate"
        )
        let key = try self.pem(data: user.clientKeyData, file: user.clientKey, field: "\(field).client-key")
        switch (certificate, key) {
        case (let certificate?, let key?):
            return .clientCertificate(certificateChainPEM: certificate, privateKeyPEM: key)
        case (.some, nil):
            throw self.error("\(field) has client-certificate but no client-key")
        case (nil, .some):
            throw self.error("\(field) has client-key but no client-certificate")
        case (nil, nil):
            break
        }
        if user.exec != nil {
            throw self.error(
                "\(field) uses an exec credential plugin, which is not supported; use a token or a client certificate"
            )
        }
        if user.authProvider != nil {
            throw self.error(
                "\(field) uses an auth-provider plugin, which is not supported; use a token or a client certificate"
            )
        }
        return .none
    }

    /// PEM text from a `…-data` field (base64) or a file field; `nil` if neither is set.
    private func pem(data: String?, file: String?, field: String) throws -> String? {
        if let data, !data.isEmpty {
            guard let decoded = Data(base64Encoded: data, options: .ignoreUnknownCharacters),
                let text = String(data: decoded, encoding: .utf8),
                text.contains("-----BEGIN ")
            else {
                throw self.error("\(field)-data is not base64-encoded PEM")
            }
            return text
        }
        if let file, !file.isEmpty {
            let resolved = self.resolve(file)
            let text = try ConfigFile.readText(resolved, what: "\(field) (from kubeconfig \(self.path))")
            guard text.contains("-----BEGIN ") else {
                throw self.error("\(field) file \(resolved) holds no PEM")
            }
            return text
        }
        return nil
    }

    private func resolve(_ path: String) -> String {
        path.hasPrefix("/") ? path : (self.directory as NSString).appendingPathComponent(path)
    }

    private func error(_ message: String, file: String = #fileID, line: Int = #line) -> KubernetesError {
        KubernetesError(code: .config, reason: "kubeconfig \(self.path) \(message)", file: file, line: line)
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            return "\(path(context)): missing \(key.stringValue)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// The subset of the kubeconfig format (`clientcmd/api/v1`) that ``KubeconfigParser`` reads.
private struct KubeconfigFile: Decodable {
    struct NamedContext: Decodable {
        var name: String
        var context: Context?
    }

    struct Context: Decodable {
        var cluster: String?
        var user: String?
        var namespace: String?
    }

    struct NamedCluster: Decodable {
        var name: String
        var cluster: Cluster?
    }

    struct Cluster: Decodable {
        var server: String?
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?

        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }

    struct NamedUser: Decodable {
        var name: String
        var user: User?
    }

    struct User: Decodable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?
        var exec: Present?
        var authProvider: Present?

        enum CodingKeys: String, CodingKey {
            case token
            case tokenFile
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
            case exec
            case authProvider = "auth-provider"
        }
    }

    /// A field whose content is ignored; only its presence matters.
    struct Present: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    var currentContext: String?
    var contexts: [NamedContext]?
    var clusters: [NamedCluster]?
    var users: [NamedUser]?

    enum CodingKeys: String, CodingKey {
        case currentContext = "current-context"
        case contexts
        case clusters
        case users
    }
}
