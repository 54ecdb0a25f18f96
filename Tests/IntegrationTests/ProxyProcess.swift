import Foundation
import LatticeTestSupport
import Testing

/// A `lattice-proxy` running as a real process on loopback, configured by environment as the injector would.
final class ProxyProcess: @unchecked Sendable {
    // Touched only by the test that owns it.
    let process: Process
    let logPath: String
    let identity: String
    let inboundPort: Int
    let adminPort: Int

    init(
        directory: String,
        name: String,
        serviceAccount: String,
        token: String,
        controllerPort: Int,
        inboundDefaultPort: Int? = nil,
        upstreams: [String] = [],
        policy: String = "all-unauthenticated",
        extraEnvironment: [String: String] = [:]
    ) throws {
        self.identity = "\(serviceAccount).default.serviceaccount.identity.lattice.cluster.local"
        self.inboundPort = try LoopbackTCP.freePort()
        self.adminPort = try LoopbackTCP.freePort()
        try TestFiles.write(token, to: "\(directory)/\(name).token")
        var environment = [
            "LATTICE_PROXY_IDENTITY_NAME": self.identity,
            "LATTICE_PROXY_IDENTITY_TOKEN_FILE": "\(directory)/\(name).token",
            "LATTICE_PROXY_IDENTITY_TRUST_ANCHORS": "\(directory)/ca.crt",
            "LATTICE_PROXY_IDENTITY_SVC_ADDR": "127.0.0.1:\(controllerPort)",
            "LATTICE_PROXY_INBOUND_LISTEN_ADDR": "127.0.0.1:\(self.inboundPort)",
            "LATTICE_PROXY_ADMIN_LISTEN_ADDR": "127.0.0.1:\(self.adminPort)",
            "LATTICE_PROXY_OUTBOUND_UPSTREAMS": upstreams.joined(separator: ","),
            "LATTICE_PROXY_DEFAULT_INBOUND_POLICY": policy,
            "LATTICE_PROXY_CLUSTER_NETWORKS": "127.0.0.0/8,198.51.100.0/24",
            "LATTICE_PROXY_LOG_LEVEL": "trace",
            "PATH": "/usr/bin:/bin",
        ]
        if let inboundDefaultPort { environment["LATTICE_PROXY_INBOUND_DEFAULT_PORT"] = "\(inboundDefaultPort)" }
        environment.merge(extraEnvironment) { $1 }
        self.logPath = "\(directory)/\(name).log"
        _ = FileManager.default.createFile(atPath: self.logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(filePath: self.logPath))
        self.process = Process()
        self.process.executableURL = URL(filePath: ProcessRunner.executable("lattice-proxy"))
        self.process.environment = environment
        self.process.standardOutput = log
        self.process.standardError = log
        self.process.standardInput = FileHandle.nullDevice
        try self.process.run()
    }

    var log: String { (try? TestFiles.read(self.logPath)) ?? "" }

    /// GET on the admin port (nil when it does not answer).
    func admin(_ path: String) -> (status: Int, body: String)? {
        let result = try? ProcessRunner.run(
            "/usr/bin/env",
            ["python3", "-c", """
            import urllib.request, urllib.error, sys
            try:
                r = urllib.request.urlopen(sys.argv[1], timeout=5); print(r.status); print(r.read().decode())
            except urllib.error.HTTPError as e:
                print(e.code); print(e.read().decode())
            """, "http://127.0.0.1:\(self.adminPort)\(path)"]
        )
        guard let result, result.status == 0, let newline = result.stdout.firstIndex(of: "\n"),
            let status = Int(result.stdout[..<newline])
        else { return nil }
        return (status, String(result.stdout[result.stdout.index(after: newline)...]))
    }

    func waitUntilReady() async throws {
        let ready = await eventually(timeout: .seconds(30)) { self.admin("/ready")?.status == 200 }
        try #require(ready, "proxy \(self.identity) not ready: \(self.log)")
    }

    func metrics() -> String { self.admin("/metrics")?.body ?? "" }

    func stop() {
        guard self.process.isRunning else { return }
        self.process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while self.process.isRunning && Date() < deadline { usleep(10_000) }
        if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
        self.process.waitUntilExit()
    }

    deinit { self.stop() }
}
