import LatticeKube
import Testing

@Suite(.timeLimit(.minutes(1)))
struct KubernetesClientTests {
    @Test
    func getsAnObject() async throws {
        let pod = """
            {"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-0","namespace":"default"},
             "spec":{"containers":[{"name":"web"}],"hostNetwork":true}}
            """
        try await withFakeAPI(handler: { _ in .json(pod) }) { server, client in
            let decoded = try await client.get("/api/v1/namespaces/default/pods/web-0", as: Pod.self)
            #expect(decoded.metadata.name == "web-0")
            #expect(decoded.spec?.hostNetwork == true)
            let request = try #require(server.requests.first)
            #expect(request.method == "GET")
            #expect(request.path == "/api/v1/namespaces/default/pods/web-0")
            #expect(request.body.isEmpty)
        }
    }

    @Test
    func listsWithEncodedSelectorsAndPaging() async throws {
        try await withFakeAPI(handler: { _ in .fixture("podlist.json") }) { server, client in
            let options = ListOptions(
                labelSelector: "app in (web,api),tier!=db",
                fieldSelector: "spec.nodeName=node-1",
                limit: 500,
                continueToken: "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NDgyNTF9+/="
            )
            let list = try await client.list("/api/v1/pods", of: Pod.self, options: options)
            #expect(list.items.count == 2)
            #expect(list.metadata.resourceVersion == "48251")
            let request = try #require(server.requests.first)
            #expect(
                request.query == [
                    "labelSelector": "app in (web,api),tier!=db",
                    "fieldSelector": "spec.nodeName=node-1",
                    "limit": "500",
                    "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NDgyNTF9+/=",
                ]
            )
        }
    }

    @Test
    func readsTheServerVersion() async throws {
        try await withFakeAPI(handler: { _ in .fixture("version-eks.json") }) { server, client in
            let version = try await client.serverVersion()
            #expect(version.major == 1)
            #expect(version.minor == 29)
            #expect(version.gitVersion == "v1.29.4-eks-036c24b")
            #expect(version.platform == "linux/amd64")
            #expect(version.isAtLeast(major: 1, minor: 29))
            #expect(server.requests.first?.path == "/version")
        }
    }

    @Test
    func aServerURLPathPrefixIsKept() async throws {
        try await withFakeAPIServer({ _ in .fixture("version-eks.json") }) { server in
            try await withClient(KubernetesClientConfig(serverURL: server.url + "/k8s/clusters/c-42/")) { client in
                _ = try await client.serverVersion()
            }
            #expect(server.requests.first?.path == "/k8s/clusters/c-42/version")
        }
    }

    @Test(arguments: ["10.96.0.1:443", "ftp://10.96.0.1", "https://"])
    func anInvalidServerURLIsAConfigError(_ url: String) {
        let error = #expect(throws: KubernetesError(code: .config, reason: "")) {
            _ = try KubernetesClient(config: KubernetesClientConfig(serverURL: url))
        }
        #expect(error?.reason.contains(url) == true)
    }

    @Test
    func invalidPEMMaterialIsAConfigError() {
        let badCA = KubernetesClientConfig(serverURL: "https://10.96.0.1", certificateAuthorityPEM: "not a pem")
        let caError = #expect(throws: KubernetesError(code: .config, reason: "")) {
            _ = try KubernetesClient(config: badCA)
        }
        #expect(caError?.reason.contains("CA bundle") == true)

        let badCertificate = KubernetesClientConfig(
            serverURL: "https://10.96.0.1",
            authentication: .clientCertificate(certificateChainPEM: "nope", privateKeyPEM: "nope")
        )
        let certificateError = #expect(throws: KubernetesError(code: .config, reason: "")) {
            _ = try KubernetesClient(config: badCertificate)
        }
        #expect(certificateError?.reason.contains("client certificate") == true)
    }

    @Test
    func aPathWithoutLeadingSlashIsRejectedBeforeSending() async throws {
        try await withFakeAPI(handler: { _ in .fixture("version-eks.json") }) { server, client in
            await #expect(throws: KubernetesError(code: .invalidRequest, reason: "")) {
                try await client.get("version", as: ServerVersion.self)
            }
            #expect(server.requests.isEmpty)
        }
    }
}
