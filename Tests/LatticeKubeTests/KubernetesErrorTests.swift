import LatticeKube
import Testing

@Suite(.timeLimit(.minutes(1)))
struct KubernetesErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var httpStatus: Int
        var fixture: String
        var code: KubernetesError.Code
        var message: String

        var testDescription: String {
            "HTTP \(self.httpStatus) → \(self.code)"
        }
    }

    static let cases: [Case] = [
        Case(httpStatus: 401, fixture: "status-401.json", code: .unauthorized, message: "Unauthorized"),
        Case(httpStatus: 403, fixture: "status-403.json", code: .forbidden, message: "cannot create resource"),
        Case(httpStatus: 404, fixture: "status-404.json", code: .notFound, message: #"pods "web-0" not found"#),
        Case(httpStatus: 409, fixture: "status-409.json", code: .conflict, message: "the object has been modified"),
        Case(httpStatus: 410, fixture: "status-410.json", code: .gone, message: "continue parameter is too old"),
        Case(httpStatus: 429, fixture: "status-429.json", code: .tooManyRequests, message: "Too many requests"),
        Case(httpStatus: 500, fixture: "status-500.json", code: .server, message: "etcdserver: request timed out"),
    ]

    @Test(arguments: Self.cases)
    func statusResponsesBecomeTypedErrors(_ testCase: Case) async throws {
        try await withFakeAPI(handler: { _ in .fixture(testCase.fixture, status: testCase.httpStatus) }) { _, client in
            let error = await #expect(throws: KubernetesError(code: testCase.code, reason: "")) {
                try await client.get("/api/v1/namespaces/default/pods/web-0", as: Pod.self)
            }
            #expect(error?.httpStatus == testCase.httpStatus)
            #expect(error?.status?.code == testCase.httpStatus)
            #expect(error?.reason.contains(testCase.message) == true)
            #expect(
                error?.reason.hasPrefix("GET /api/v1/namespaces/default/pods/web-0: HTTP \(testCase.httpStatus)")
                    == true
            )
        }
    }

    @Test
    func tooManyRequestsCarriesTheRetryAfterHeader() async throws {
        let response = FakeResponse.fixture("status-429.json", status: 429, headers: [("Retry-After", "7")])
        try await withFakeAPI(handler: { _ in response }) { _, client in
            let error = await #expect(throws: KubernetesError(code: .tooManyRequests, reason: "")) {
                try await client.serverVersion()
            }
            #expect(error?.retryAfter == .seconds(7))
        }
    }

    @Test
    func tooManyRequestsFallsBackToTheStatusRetryAfterSeconds() async throws {
        try await withFakeAPI(handler: { _ in .fixture("status-429.json", status: 429) }) { _, client in
            let error = await #expect(throws: KubernetesError(code: .tooManyRequests, reason: "")) {
                try await client.serverVersion()
            }
            #expect(error?.retryAfter == .seconds(3))
        }
    }

    @Test
    func aNonStatusErrorBodyIsQuoted() async throws {
        try await withFakeAPI(handler: { _ in .json("upstream connect error", status: 502) }) { _, client in
            let error = await #expect(throws: KubernetesError(code: .server, reason: "")) {
                try await client.serverVersion()
            }
            #expect(error?.status == nil)
            #expect(error?.reason.contains("upstream connect error") == true)
        }
    }

    @Test
    func aBadRequestIsAnInvalidRequest() async throws {
        let body = """
            {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
             "message":"unable to parse requirement: invalid label key","reason":"BadRequest","code":400}
            """
        try await withFakeAPI(handler: { _ in .json(body, status: 400) }) { _, client in
            await #expect(throws: KubernetesError(code: .invalidRequest, reason: "")) {
                try await client.list("/api/v1/pods", of: Pod.self, options: ListOptions(labelSelector: "=="))
            }
        }
    }

    @Test
    func anUndecodableBodyIsADecodingError() async throws {
        try await withFakeAPI(handler: { _ in .json(#"{"items":"not a list"}"#) }) { _, client in
            let error = await #expect(throws: KubernetesError(code: .decoding, reason: "")) {
                try await client.list("/api/v1/pods", of: Pod.self)
            }
            #expect(error?.reason.contains("GET /api/v1/pods") == true)
        }
    }

    @Test
    func anUnreachableServerIsATransportError() async throws {
        // Bind and stop a server to get a port nothing listens on.
        let url = try await withFakeAPIServer({ _ in .json("{}") }) { server in server.url }
        try await withClient(KubernetesClientConfig(serverURL: url, connectTimeout: .milliseconds(300))) { client in
            let error = await #expect(throws: KubernetesError(code: .transport, reason: "")) {
                try await client.serverVersion()
            }
            #expect(error?.reason.hasPrefix("GET /version") == true)
        }
    }

    @Test
    func equalityAndHashingUseTheCodeOnly() {
        let first = KubernetesError(code: .gone, reason: "one", httpStatus: 410)
        let second = KubernetesError(code: .gone, reason: "two")
        #expect(first == second)
        #expect(first.hashValue == second.hashValue)
        #expect(first != KubernetesError(code: .conflict, reason: "one"))
        #expect(Set([KubernetesError.Code.gone, .gone, .server]).count == 2)
    }

    @Test
    func descriptionNamesCodeStatusReasonAndPlace() {
        let error = KubernetesError(
            code: .tooManyRequests,
            reason: "slow down",
            httpStatus: 429,
            retryAfter: .seconds(2)
        )
        #expect(error.description.hasPrefix("KubernetesError.tooManyRequests (HTTP 429): slow down (retry after 2s) ["))
        #expect(error.description.contains("KubernetesErrorTests.swift:"))
        #expect(error.file.hasSuffix("KubernetesErrorTests.swift"))
    }
}
