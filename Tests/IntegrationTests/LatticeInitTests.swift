import Foundation
import LatticeTestSupport
import Testing

extension Tag {
    /// Needs root: network namespaces, iptables, pods as namespaces.
    @Tag static var pods: Self
}

/// Every test that builds network namespaces (root only) runs under this suite, one at a time: they are heavy, and
/// they share the kernel's netfilter state.
@Suite("pods (network namespaces, root)", .tags(.pods), .enabled(if: PodNetwork.isAvailable, "needs root and iproute2"), .serialized)
struct PodSuites {}

extension PodSuites {
/// `lattice-init` for real, in a fresh network namespace per test.
@Suite("lattice-init in a network namespace")
struct LatticeInitNamespaceTests {
    func save(_ network: PodNetwork, _ pod: PodNetwork.Pod, _ tool: String = "iptables-nft-save", table: String = "nat") throws -> String {
        let result = try network.run(in: pod, [tool, "-t", table])
        try #require(result.status == 0, "\(tool): \(result.stderr)")
        return result.stdout
    }

    func initTool(_ network: PodNetwork, _ pod: PodNetwork.Pod, _ arguments: [String]) throws -> ProcessRunner.Result {
        try network.run(in: pod, [ProcessRunner.executable("lattice-init")] + arguments)
    }

    func latticeRules(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { $0.contains("LATTICE_") || $0.contains("lattice/") }
    }

    @Test("install (nft): Linkerd's shape with named rules; twice leaves one set; uninstall removes exactly its own")
    func installIdempotentUninstall() throws {
        let network = try PodNetwork()
        defer { network.tearDown() }
        let pod = try network.addPod("a", host: 10)
        // Someone else's rule, which must survive everything lattice-init does.
        #expect(try network.run(in: pod, ["iptables-nft", "-t", "nat", "-A", "OUTPUT", "-p", "udp", "-m", "comment", "--comment", "not-lattice", "-j", "RETURN"]).status == 0)
        let ports = (1...20).map { "\(9000 + $0)" }.joined(separator: ",")
        let arguments = ["--mode", "nft", "--skip-inbound-ports", ports, "--skip-outbound-ports", "5432", "--skip-subnets", "198.51.100.200/32"]
        let first = try self.initTool(network, pod, arguments)
        #expect(first.status == 0, "\(first.stderr)")
        let installed = try self.save(network, pod)
        for comment in ["skip-proxy-ports", "skip-inbound-ports", "redirect-inbound", "ignore-proxy-uid", "ignore-loopback", "skip-outbound-ports", "skip-subnets", "redirect-outbound", "install-inbound", "install-outbound"] {
            #expect(installed.contains("lattice/\(comment)"), "no rule named lattice/\(comment):\n\(installed)")
        }
        #expect(installed.contains("--to-ports 4143") && installed.contains("--to-ports 4140") && installed.contains("--uid-owner 2102"))
        // Twenty skip ports: two multiport rules (fifteen at most each).
        #expect(installed.split(separator: "\n").filter { $0.contains("lattice/skip-inbound-ports") }.count == 2)
        let second = try self.initTool(network, pod, arguments)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(self.latticeRules(try self.save(network, pod)) == self.latticeRules(installed), "a second run changed the rules")
        // IPv6 (default --ipv6 drop): TCP dropped except loopback.
        let v6 = try self.save(network, pod, "ip6tables-nft-save", table: "filter")
        #expect(v6.contains("lattice/ipv6-drop-tcp"), "\(v6)")
        let removed = try self.initTool(network, pod, ["--mode", "nft", "--uninstall"])
        #expect(removed.status == 0, "\(removed.stderr)")
        let after = try self.save(network, pod)
        #expect(self.latticeRules(after).isEmpty, "left behind:\n\(after)")
        #expect(after.contains("not-lattice"), "someone else's rule was removed")
        #expect(self.latticeRules(try self.save(network, pod, "ip6tables-nft-save", table: "filter")).isEmpty)
    }

    @Test("IPv6 TCP can't bypass the proxy: with --ipv6 drop nothing goes in or out over IPv6 until uninstall")
    func ipv6IsDropped() async throws {
        try await TestFiles.withDirectory { directory in
            let network = try PodNetwork()
            defer { network.tearDown() }
            let a = try network.addPod("a", host: 10)
            let b = try network.addPod("b", host: 11)
            let a6 = try network.addIPv6(to: a)
            let b6 = try network.addIPv6(to: b)
            try TestFiles.write("over-ipv6", to: "\(directory)/index.html")
            for pod in [a, b] {
                try network.start(
                    in: pod, ["/usr/bin/python3", "-m", "http.server", "8080", "--bind", "::", "--directory", directory],
                    log: "\(directory)/web-\(pod.name).log"
                )
            }
            func get(from pod: PodNetwork.Pod, _ address: String) throws -> ProcessRunner.Result {
                try network.run(in: pod, ["curl", "-sS", "-g", "--max-time", "3", "http://[\(address)]:8080/index.html"])
            }
            // Before: IPv6 TCP flows both ways.
            let ready = await eventually(timeout: .seconds(15), interval: .milliseconds(200)) {
                (try? get(from: a, b6).stdout) == "over-ipv6" && (try? get(from: b, a6).stdout) == "over-ipv6"
            }
            let probe = (try? get(from: a, b6).stderr) ?? ""
            try #require(ready, "IPv6 between the pods never worked: \(probe)")
            // a meshed (default --ipv6 drop): its IPv6 TCP out and in is dropped; IPv4 still flows (to the redirect).
            let installed = try self.initTool(network, a, ["--mode", "nft"])
            #expect(installed.status == 0, "\(installed.stderr)")
            let out = try get(from: a, b6)
            #expect(out.status != 0 && out.stdout.isEmpty, "a → b over IPv6 got through: \(out.stdout)")
            let inbound = try get(from: b, a6)
            #expect(inbound.status != 0 && inbound.stdout.isEmpty, "b → a over IPv6 got through: \(inbound.stdout)")
            // a's own IPv6 loopback still works.
            #expect(try get(from: a, "::1").stdout == "over-ipv6")
            // Rollback restores IPv6.
            #expect(try self.initTool(network, a, ["--mode", "nft", "--uninstall"]).status == 0)
            #expect(try get(from: a, b6).stdout == "over-ipv6")
            #expect(try get(from: b, a6).stdout == "over-ipv6")
        }
    }

    @Test("--dry-run prints the rules and changes nothing; the legacy backend works the same")
    func dryRunAndLegacy() throws {
        let network = try PodNetwork()
        defer { network.tearDown() }
        let pod = try network.addPod("a", host: 10)
        let dry = try self.initTool(network, pod, ["--mode", "legacy", "--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("-A LATTICE_INBOUND -p tcp -j REDIRECT --to-ports 4143"))
        #expect(self.latticeRules(try self.save(network, pod, "iptables-legacy-save")).isEmpty)
        #expect(try self.initTool(network, pod, ["--mode", "legacy"]).status == 0)
        #expect(self.latticeRules(try self.save(network, pod, "iptables-legacy-save")).count > 5)
        #expect(self.latticeRules(try self.save(network, pod, "iptables-nft-save")).isEmpty, "legacy mode wrote nft rules")
        #expect(try self.initTool(network, pod, ["--mode", "legacy", "--uninstall"]).status == 0)
        #expect(self.latticeRules(try self.save(network, pod, "iptables-legacy-save")).isEmpty)
    }

    @Test("without NET_ADMIN it says so, and what to do")
    func withoutNetAdmin() async throws {
        try await TestFiles.withDirectory { directory in
            let network = try PodNetwork()
            defer { network.tearDown() }
            let pod = try network.addPod("a", host: 10)
            let binary = try PodBinaries.copy("lattice-init", into: directory)
            let result = try network.run(in: pod, ["/usr/bin/setpriv", "--reuid", "2102", "--regid", "2102", "--clear-groups", binary, "--mode", "nft"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("NET_ADMIN"), "\(result.stderr)")
        }
    }

    @Test("bad settings are refused before anything changes")
    func badSettings() throws {
        let network = try PodNetwork()
        defer { network.tearDown() }
        let pod = try network.addPod("a", host: 10)
        let result = try self.initTool(network, pod, ["--mode", "nft", "--skip-outbound-ports", "80,http"])
        #expect(result.status != 0 && result.stderr.contains("'http' is not a port"), "\(result.stderr)")
        #expect(self.latticeRules(try self.save(network, pod)).isEmpty)
    }
}

}

/// Built binaries copied where a non-root UID can run them (the build folder may sit under a private directory).
enum PodBinaries {
    /// Copies `name` into the test's `directory` (opened to other users: the proxy runs as its own UID).
    static func copy(_ name: String, into directory: String) throws -> String {
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        let target = "\(directory)/\(name)"
        if !FileManager.default.fileExists(atPath: target) {
            try FileManager.default.copyItem(atPath: ProcessRunner.executable(name), toPath: target)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: target)
        }
        return target
    }
}
