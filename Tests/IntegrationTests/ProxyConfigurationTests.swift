import LatticeTestSupport
import Testing

/// lattice-proxy refuses a configuration it can't run with: it exits at once, naming the variable and what it expects.
@Suite(.tags(.integration))
struct ProxyConfigurationTests {
    static let required = [
        "LATTICE_PROXY_IDENTITY_NAME=web.default.serviceaccount.identity.lattice.cluster.local",
        "LATTICE_PROXY_IDENTITY_TOKEN_FILE=/nonexistent/token",
        "LATTICE_PROXY_IDENTITY_TRUST_ANCHORS=/nonexistent/ca.crt",
        "LATTICE_PROXY_IDENTITY_SVC_ADDR=127.0.0.1:1",
    ]

    static func start(_ extra: [String]) throws -> ProcessRunner.Result {
        try ProcessRunner.run("/usr/bin/env", ["-i"] + Self.required + extra + [ProcessRunner.executable("lattice-proxy")], timeout: 20)
    }

    @Test(arguments: [
        ("LATTICE_PROXY_IDLE_RELEASE_AFTER=soon", "'soon' is not a duration"),
        ("LATTICE_PROXY_RETURN_FREED_MEMORY=maybe", "'maybe' is not true or false"),
        ("LATTICE_PROXY_RELEASE_STARTUP_PAGES=sometimes", "'sometimes' is not true or false"),
    ])
    func aBadMemorySettingStopsTheProxyNamingIt(setting: String, complaint: String) throws {
        let result = try Self.start([setting])
        #expect(result.status != 0, "the proxy started with \(setting)")
        let variable = String(setting.prefix { $0 != "=" })
        #expect(result.stderr.contains(variable) && result.stderr.contains(complaint), "\(result.stderr)")
    }

    /// A listen address another process holds: the proxy exits rather than run without that listener, and says
    /// which listener, which address and which variable moves it.
    @Test(arguments: ["LATTICE_PROXY_INBOUND_LISTEN_ADDR", "LATTICE_PROXY_ADMIN_LISTEN_ADDR"])
    func aListenAddressInUseStopsTheProxyNamingIt(variable: String) async throws {
        let others = ["LATTICE_PROXY_INBOUND_LISTEN_ADDR", "LATTICE_PROXY_ADMIN_LISTEN_ADDR", "LATTICE_PROXY_OUTBOUND_LISTEN_ADDR"]
            .filter { $0 != variable }
            .map { "\($0)=127.0.0.1:0" }
        let (port, result) = try await EchoServer.holdingAPort { port in
            (port, try Self.start(others + ["\(variable)=127.0.0.1:\(port)"]))
        }
        #expect(result.status != 0, "the proxy ran on without its listener")
        #expect(result.stderr.contains("cannot listen on 127.0.0.1:\(port)"), "\(result.stderr)")
        #expect(result.stderr.contains("Address already in use") && result.stderr.contains(variable), "\(result.stderr)")
    }
}
