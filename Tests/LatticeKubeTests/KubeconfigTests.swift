import Foundation
import LatticeKube
import Testing

@Suite
struct KubeconfigTests {
    private static let caPEM = "-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHHIG\n-----END CERTIFICATE-----\n"
    private static let certificatePEM = "-----BEGIN CERTIFICATE-----\nMIIBclient\n-----END CERTIFICATE-----\n"
    private static let keyPEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\n"

    private static func base64(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }

    /// Two contexts: `eks` (CA data + token, current) and `kind` (CA file + client certificate data + namespace).
    private static let kubeconfig = """
        apiVersion: v1
        kind: Config
        preferences: {}
        current-context: eks
        clusters:
        - name: eks-cluster
          cluster:
            server: https://0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com
            certificate-authority-data: \(base64(caPEM))
        - name: kind-cluster
          cluster:
            server: https://127.0.0.1:41235
            certificate-authority: certs/ca.crt
        - name: dev-cluster
          cluster:
            server: https://dev.example.com:6443
            insecure-skip-tls-verify: true
        contexts:
        - name: eks
          context:
            cluster: eks-cluster
            user: eks-admin
        - name: kind
          context:
            cluster: kind-cluster
            user: kind-admin
            namespace: lattice
        - name: dev
          context:
            cluster: dev-cluster
            user: dev-user
        - name: exec
          context:
            cluster: eks-cluster
            user: aws-exec
        users:
        - name: eks-admin
          user:
            token: eyJhbGciOiJSUzI1NiJ9.kubeconfig.token
        - name: kind-admin
          user:
            client-certificate-data: \(base64(certificatePEM))
            client-key-data: \(base64(keyPEM))
        - name: dev-user
          user:
            tokenFile: tokens/dev
        - name: aws-exec
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1beta1
              command: aws
              args: [eks, get-token, --cluster-name, prod]
        """

    private func withKubeconfig<Result>(
        _ text: String = Self.kubeconfig,
        _ body: (String) async throws -> Result
    ) async throws -> Result {
        try await withTemporaryDirectory { directory in
            try writeFile(directory + "/certs/ca.crt", Self.caPEM)
            try writeFile(directory + "/config", text)
            return try await body(directory)
        }
    }

    @Test
    func theCurrentContextUsesCAdataAndToken() async throws {
        try await self.withKubeconfig { directory in
            let config = try KubernetesClientConfig.kubeconfig(path: directory + "/config")
            #expect(config.serverURL == "https://0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com")
            #expect(config.certificateAuthorityPEM == Self.caPEM)
            #expect(config.authentication == .bearerToken("eyJhbGciOiJSUzI1NiJ9.kubeconfig.token"))
            #expect(!config.isTLSVerificationDisabled)
            #expect(config.namespace == nil)
            #expect(!config.description.contains("kubeconfig.token"))
        }
    }

    @Test
    func aNamedContextUsesARelativeCAFileAndClientCertificateData() async throws {
        try await self.withKubeconfig { directory in
            let config = try KubernetesClientConfig.kubeconfig(path: directory + "/config", context: "kind")
            #expect(config.serverURL == "https://127.0.0.1:41235")
            #expect(config.certificateAuthorityPEM == Self.caPEM)
            #expect(
                config.authentication
                    == .clientCertificate(certificateChainPEM: Self.certificatePEM, privateKeyPEM: Self.keyPEM)
            )
            #expect(config.namespace == "lattice")
        }
    }

    @Test
    func insecureSkipTLSVerifyAndARelativeTokenFile() async throws {
        try await self.withKubeconfig { directory in
            let config = try KubernetesClientConfig.kubeconfig(path: directory + "/config", context: "dev")
            #expect(config.isTLSVerificationDisabled)
            #expect(config.certificateAuthorityPEM == nil)
            #expect(config.authentication == .bearerTokenFile(path: directory + "/tokens/dev"))
        }
    }

    @Test
    func theKUBECONFIGVariableIsUsedWhenNoPathIsGiven() async throws {
        try await self.withKubeconfig { directory in
            let environment = ["KUBECONFIG": directory + "/config:/nonexistent/other", "HOME": "/nonexistent"]
            let config = try KubernetesClientConfig.kubeconfig(environment: environment)
            #expect(config.serverURL == "https://0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com")
        }
    }

    @Test
    func aMissingContextIsNamedWithTheFileAndTheAlternatives() async throws {
        try await self.withKubeconfig { directory in
            let error = #expect(throws: KubernetesError(code: .config, reason: "")) {
                try KubernetesClientConfig.kubeconfig(path: directory + "/config", context: "staging")
            }
            #expect(error?.reason.contains(directory + "/config") == true)
            #expect(error?.reason.contains(#"has no context "staging""#) == true)
            #expect(error?.reason.contains("available: eks, kind, dev, exec") == true)
        }
    }

    struct BrokenCase: Sendable, CustomTestStringConvertible {
        var name: String
        var yaml: String
        var message: String

        var testDescription: String {
            self.name
        }
    }

    /// A kubeconfig with one context `a` using cluster `c` (and `user`, if given), the cluster being `cluster`.
    private static func singleContext(cluster: String, user: String? = nil) -> String {
        """
        current-context: a
        contexts:
        - name: a
          context: {cluster: c\(user.map { ", user: \($0)" } ?? "")}
        clusters:
        - name: c
          cluster: \(cluster)
        """
    }

    static let brokenCases: [BrokenCase] = [
        BrokenCase(
            name: "no current context",
            yaml: "apiVersion: v1\nkind: Config\nclusters: []\n",
            message: "has no current-context"
        ),
        BrokenCase(
            name: "context without cluster entry",
            yaml: "current-context: a\ncontexts:\n- name: a\n  context: {cluster: gone, user: u}\n",
            message: #"has no cluster "gone" (used by context "a")"#
        ),
        BrokenCase(
            name: "cluster without server",
            yaml: singleContext(cluster: "{}"),
            message: #"cluster "c" has no server"#
        ),
        BrokenCase(
            name: "missing user",
            yaml: singleContext(cluster: "{server: 'https://x'}", user: "nobody"),
            message: #"has no user "nobody""#
        ),
        BrokenCase(
            name: "invalid CA data",
            yaml: singleContext(cluster: "{server: 'https://x', certificate-authority-data: '!!!'}"),
            message: "clusters[c].cluster.certificate-authority-data is not base64-encoded PEM"
        ),
        BrokenCase(
            name: "missing CA file",
            yaml: singleContext(cluster: "{server: 'https://x', certificate-authority: missing.crt}"),
            message: "missing.crt"
        ),
        BrokenCase(
            name: "wrong type",
            yaml: "current-context: a\ncontexts: 3\n",
            message: "is not a valid kubeconfig: .contexts"
        ),
    ]

    @Test(arguments: Self.brokenCases)
    func brokenKubeconfigsNameTheFileAndField(_ broken: BrokenCase) async throws {
        try await self.withKubeconfig(broken.yaml) { directory in
            let error = #expect(throws: KubernetesError(code: .config, reason: "")) {
                try KubernetesClientConfig.kubeconfig(path: directory + "/config")
            }
            #expect(error?.reason.contains(directory + "/config") == true)
            #expect(error?.reason.contains(broken.message) == true, "\(error?.reason ?? "")")
        }
    }

    @Test
    func execPluginsAreRefusedClearly() async throws {
        try await self.withKubeconfig { directory in
            let error = #expect(throws: KubernetesError(code: .config, reason: "")) {
                try KubernetesClientConfig.kubeconfig(path: directory + "/config", context: "exec")
            }
            #expect(error?.reason.contains("users[aws-exec].user uses an exec credential plugin") == true)
        }
    }

    @Test
    func aMissingFileIsNamed() throws {
        let error = #expect(throws: KubernetesError(code: .config, reason: "")) {
            try KubernetesClientConfig.kubeconfig(path: "/nonexistent/kubeconfig")
        }
        #expect(error?.reason.contains("/nonexistent/kubeconfig") == true)
    }
}
