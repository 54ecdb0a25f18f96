import Foundation
import LatticeTestSupport
import Testing

/// A controller in the root namespace and pods on a ``PodNetwork``, each meshed pod with lattice-init's rules and a
/// transparent lattice-proxy running as its own UID. The registry is written by the test (``writeRegistry(_:)``).
final class MeshCluster: @unchecked Sendable {
    // Only touched from the test that owns it.
    static let proxyUID = 2102
    let directory: String
    let network: PodNetwork
    private(set) var controller: BackgroundProcess?
    private(set) var api = ""
    private var proxyBinary = ""

    init(directory: String) throws {
        self.directory = directory
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        self.network = try PodNetwork()
    }

    func tearDown() {
        self.network.tearDown()
        self.controller?.stop()
    }

    func writeRegistry(_ text: String) throws {
        try TestFiles.write(text, to: "\(self.directory)/registry.yaml")
    }

    /// Certificates, a token per service account, and the controller on the bridge.
    func startControlPlane(serviceAccounts: [String]) async throws {
        try ControllerProcess.makeRunbookCertificates(in: self.directory)
        chmod("\(self.directory)/ca.crt", 0o644)
        var tokens = ""
        for account in serviceAccounts {
            let token = "token-\(account)-\(UInt32.random(in: 0...UInt32.max))"
            tokens += "\(token) demo/\(account)\n"
            try TestFiles.write(token, to: "\(self.directory)/\(account).token")
            chown("\(self.directory)/\(account).token", uid_t(Self.proxyUID), gid_t(Self.proxyUID))
            chmod("\(self.directory)/\(account).token", 0o600)
        }
        try TestFiles.write(tokens, to: "\(self.directory)/tokens")
        let controller = try BackgroundProcess(
            ProcessRunner.executable("lattice-controller"),
            [
                "--identity-addr", "\(self.network.hostAddress):0", "--admin-addr", "127.0.0.1:0",
                "--issuer-certificate", "\(self.directory)/issuer.crt", "--issuer-key", "\(self.directory)/issuer.key",
                "--trust-anchors", "\(self.directory)/ca.crt", "--tokens-file", "\(self.directory)/tokens",
                "--registry", "\(self.directory)/registry.yaml", "--reload-interval", "200ms",
                "--cluster-networks", "198.51.100.0/24", "--addresses-file", "\(self.directory)/addresses.json",
            ],
            logPath: "\(self.directory)/controller.log"
        )
        self.controller = controller
        let started = await eventually(timeout: .seconds(30)) { FileManager.default.fileExists(atPath: "\(self.directory)/addresses.json") }
        try #require(started, "controller: \(controller.log)")
        let addresses = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(filePath: "\(self.directory)/addresses.json"))) as? [String: String]
        self.api = try #require(addresses?["identity"])
        self.proxyBinary = try PodBinaries.copy("lattice-proxy", into: self.directory)
    }

    /// lattice-init (with `initArguments`) and a transparent proxy in `pod`, ready before it returns.
    func mesh(_ pod: PodNetwork.Pod, serviceAccount: String, initArguments: [String] = [], environment: [String: String] = [:]) async throws {
        let installed = try self.network.run(
            in: pod, [ProcessRunner.executable("lattice-init"), "--mode", "nft", "--proxy-uid", "\(Self.proxyUID)"] + initArguments
        )
        try #require(installed.status == 0, "lattice-init in \(pod.name): \(installed.stderr)")
        try self.network.start(
            in: pod, [self.proxyBinary], uid: Self.proxyUID,
            environment: [
                "LATTICE_PROXY_IDENTITY_NAME": "\(serviceAccount).demo.serviceaccount.identity.lattice.cluster.local",
                "LATTICE_PROXY_IDENTITY_TOKEN_FILE": "\(self.directory)/\(serviceAccount).token",
                "LATTICE_PROXY_IDENTITY_TRUST_ANCHORS": "\(self.directory)/ca.crt",
                "LATTICE_PROXY_IDENTITY_SVC_ADDR": self.api,
                "LATTICE_PROXY_TRANSPARENT": "true",
                "LATTICE_PROXY_WORKLOAD": "demo/\(pod.name)",
                "LATTICE_PROXY_CLUSTER_NETWORKS": "198.51.100.0/24",
                "LATTICE_PROXY_LOG_LEVEL": "debug",
            ].merging(environment) { _, given in given },
            log: self.proxyLog(pod)
        )
        let ready = await eventually(timeout: .seconds(30), interval: .milliseconds(200)) {
            (try? self.network.run(in: pod, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:4191/ready"], timeout: 5).stdout) == "200"
        }
        try #require(ready, "proxy \(pod.name) not ready:\n\(self.tail(self.proxyLog(pod)))")
    }

    /// Removes the rules and stops the proxy (the runbook's rollback).
    func unmesh(_ pod: PodNetwork.Pod) throws {
        let removed = try self.network.run(in: pod, [ProcessRunner.executable("lattice-init"), "--mode", "nft", "--uninstall"])
        #expect(removed.status == 0, "uninstall in \(pod.name): \(removed.stderr)")
        _ = try self.network.run(in: pod, ["pkill", "-u", "\(Self.proxyUID)", "-f", "lattice-proxy"])
    }

    /// The controller's /metrics (its admin address from the addresses file).
    func controllerMetrics() throws -> String {
        let addresses = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(filePath: "\(self.directory)/addresses.json"))) as? [String: String]
        let admin = try #require(addresses?["admin"])
        return try ProcessRunner.run("/usr/bin/curl", ["-s", "http://\(admin)/metrics"]).stdout
    }

    func metrics(_ pod: PodNetwork.Pod) throws -> String {
        try self.network.run(in: pod, ["curl", "-s", "http://127.0.0.1:4191/metrics"]).stdout
    }

    func proxyLog(_ pod: PodNetwork.Pod) -> String { "\(self.directory)/proxy-\(pod.name).log" }

    func tail(_ path: String, lines: Int = 25) -> String {
        ((try? TestFiles.read(path)) ?? "").split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}
