import Foundation
import LatticeKube
import Testing

@Suite
struct InClusterConfigTests {
    private static let caPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    private static let environment = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]

    /// Lays out the kubelet's service-account mount under `root`.
    private func mountServiceAccount(under root: String, namespace: String? = "lattice") throws -> String {
        let directory = root + KubernetesClientConfig.serviceAccountDirectory
        try writeFile(directory + "/token", "eyJhbGciOiJSUzI1NiJ9.payload.signature")
        try writeFile(directory + "/ca.crt", Self.caPEM)
        if let namespace {
            try writeFile(directory + "/namespace", namespace)
        }
        return directory
    }

    @Test
    func readsTheEnvironmentAndTheServiceAccountMount() async throws {
        try await withTemporaryDirectory { root in
            let directory = try self.mountServiceAccount(under: root)
            let config = try KubernetesClientConfig.inCluster(environment: Self.environment, fileRoot: root)
            #expect(config.serverURL == "https://10.96.0.1:443")
            #expect(config.certificateAuthorityPEM == Self.caPEM)
            #expect(config.authentication == .bearerTokenFile(path: directory + "/token"))
            #expect(config.namespace == "lattice")
            #expect(!config.isTLSVerificationDisabled)
            #expect(config.tokenRefreshInterval == .seconds(60))
            #expect(!config.description.contains("eyJ"))
        }
    }

    @Test
    func bracketsAnIPv6ServiceHostAndToleratesAMissingNamespaceFile() async throws {
        try await withTemporaryDirectory { root in
            _ = try self.mountServiceAccount(under: root, namespace: nil)
            let environment = ["KUBERNETES_SERVICE_HOST": "fd00:10:96::1", "KUBERNETES_SERVICE_PORT": "6443"]
            let config = try KubernetesClientConfig.inCluster(environment: environment, fileRoot: root)
            #expect(config.serverURL == "https://[fd00:10:96::1]:6443")
            #expect(config.namespace == nil)
        }
    }

    @Test(arguments: ["KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"])
    func aMissingVariableIsNamed(_ variable: String) async throws {
        try await withTemporaryDirectory { root in
            _ = try self.mountServiceAccount(under: root)
            var environment = Self.environment
            environment[variable] = nil
            let error = #expect(throws: KubernetesError(code: .config, reason: "")) {
                try KubernetesClientConfig.inCluster(environment: environment, fileRoot: root)
            }
            #expect(error?.reason.contains(variable) == true)
        }
    }

    @Test
    func anInvalidPortIsNamed() async throws {
        try await withTemporaryDirectory { root in
            _ = try self.mountServiceAccount(under: root)
            let environment = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "https"]
            let error = #expect(throws: KubernetesError(code: .config, reason: "")) {
                try KubernetesClientConfig.inCluster(environment: environment, fileRoot: root)
            }
            #expect(error?.reason.contains("KUBERNETES_SERVICE_PORT") == true)
        }
    }

    @Test(arguments: ["token", "ca.crt"])
    func aMissingFileIsNamed(_ file: String) async throws {
        try await withTemporaryDirectory { root in
            let directory = try self.mountServiceAccount(under: root)
            try FileManager.default.removeItem(atPath: directory + "/" + file)
            let error = #expect(throws: KubernetesError(code: .config, reason: "")) {
                try KubernetesClientConfig.inCluster(environment: Self.environment, fileRoot: root)
            }
            #expect(error?.reason.contains(directory + "/" + file) == true)
        }
    }
}
