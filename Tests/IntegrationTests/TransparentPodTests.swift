import Foundation
import LatticeTestSupport
import Testing

/// Pods as network namespaces with lattice-init's rules and a transparent lattice-proxy each (as its own UID), the
/// controller in the root namespace with a registry describing them. The apps know nothing of the mesh.
@Suite("transparent pods", .tags(.pods), .enabled(if: PodNetwork.isAvailable, "needs root and iproute2"), .serialized)
struct TransparentPodTests {
    static let proxyUID = 2102

    /// The registry: pods a (client), b and c (web servers behind the `web` service at 198.51.100.200:80), d (no proxy).
    static func registry(bPolicy: String?) -> String {
        var out = """
            workloads:
              - {name: a, namespace: demo, serviceAccount: a, addresses: [198.51.100.10], labels: {app: client}}
              - name: b
                namespace: demo
                serviceAccount: web
                addresses: [198.51.100.11]
                labels: {app: web}
                ports: [{port: 8080}, {port: 6379}]

            """
        if let bPolicy { out += "    annotations: {config.lattice.io/default-inbound-policy: \(bPolicy)}\n" }
        out += """
              - {name: c, namespace: demo, serviceAccount: web, addresses: [198.51.100.12], labels: {app: web}, ports: [{port: 8080}]}
              - {name: d, namespace: demo, addresses: [198.51.100.13], meshed: false}
            services:
              - {name: web, namespace: demo, clusterIPs: [198.51.100.200], ports: [{port: 80, targetPort: 8080}], selector: {app: web}}

            """
        return out
    }

    @Test("apps call pods and a Service address with no proxy settings; mTLS 1.3 on the wire; policy; rollback")
    func transparentMesh() async throws {
        try await TestFiles.withDirectory { directory in
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
            let network = try PodNetwork()
            defer { network.tearDown() }
            let a = try network.addPod("a", host: 10)
            let b = try network.addPod("b", host: 11)
            let c = try network.addPod("c", host: 12)
            let d = try network.addPod("d", host: 13)

            // The control plane, in the root namespace on the bridge.
            try ControllerProcess.makeRunbookCertificates(in: directory)
            var tokens = ""
            for name in ["a", "b", "c"] {
                let token = "token-\(name)-\(UInt32.random(in: 0...UInt32.max))"
                tokens += "\(token) demo/\(name == "a" ? "a" : "web")\n"
                try TestFiles.write(token, to: "\(directory)/\(name).token")
                chown("\(directory)/\(name).token", uid_t(Self.proxyUID), gid_t(Self.proxyUID))
                chmod("\(directory)/\(name).token", 0o600)
            }
            try TestFiles.write(tokens, to: "\(directory)/tokens")
            try TestFiles.write(Self.registry(bPolicy: nil), to: "\(directory)/registry.yaml")
            chmod("\(directory)/ca.crt", 0o644)
            let controller = try BackgroundProcess(
                ProcessRunner.executable("lattice-controller"),
                [
                    "--identity-addr", "\(network.hostAddress):0", "--admin-addr", "127.0.0.1:0",
                    "--issuer-certificate", "\(directory)/issuer.crt", "--issuer-key", "\(directory)/issuer.key",
                    "--trust-anchors", "\(directory)/ca.crt", "--tokens-file", "\(directory)/tokens",
                    "--registry", "\(directory)/registry.yaml", "--reload-interval", "200ms",
                    "--cluster-networks", "198.51.100.0/24", "--addresses-file", "\(directory)/addresses.json",
                ],
                logPath: "\(directory)/controller.log"
            )
            defer { controller.stop() }
            let started = await eventually(timeout: .seconds(30)) { FileManager.default.fileExists(atPath: "\(directory)/addresses.json") }
            try #require(started, "controller: \(controller.log)")
            let api = try #require(
                (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(filePath: "\(directory)/addresses.json"))) as? [String: String])?["identity"]
            )

            // The apps: web servers in b and c (each serving its own name), Redis in b.
            for (pod, name) in [(b, "b"), (c, "c")] {
                try FileManager.default.createDirectory(atPath: "\(directory)/www-\(name)", withIntermediateDirectories: true)
                try TestFiles.write("served-by-\(name) secret-marker-7f3a", to: "\(directory)/www-\(name)/name.txt")
                try network.start(
                    in: pod, ["/usr/bin/python3", "-m", "http.server", "8080", "--bind", "0.0.0.0", "--directory", "\(directory)/www-\(name)"],
                    log: "\(directory)/web-\(name).log"
                )
            }
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server") {
                try network.start(in: b, ["/usr/bin/redis-server", "--port", "6379", "--save", "", "--appendonly", "no", "--protected-mode", "no"], log: "\(directory)/redis.log")
            }

            // lattice-init and a transparent proxy (its own UID) in a, b and c; d stays outside the mesh.
            let proxyBinary = try PodBinaries.copy("lattice-proxy", into: directory)
            for (pod, name, identity) in [(a, "a", "a"), (b, "b", "web"), (c, "c", "web")] {
                let installed = try network.run(in: pod, [ProcessRunner.executable("lattice-init"), "--mode", "nft", "--proxy-uid", "\(Self.proxyUID)"])
                try #require(installed.status == 0, "lattice-init in \(name): \(installed.stderr)")
                try network.start(
                    in: pod, [proxyBinary], uid: Self.proxyUID,
                    environment: [
                        "LATTICE_PROXY_IDENTITY_NAME": "\(identity).demo.serviceaccount.identity.lattice.cluster.local",
                        "LATTICE_PROXY_IDENTITY_TOKEN_FILE": "\(directory)/\(name).token",
                        "LATTICE_PROXY_IDENTITY_TRUST_ANCHORS": "\(directory)/ca.crt",
                        "LATTICE_PROXY_IDENTITY_SVC_ADDR": api,
                        "LATTICE_PROXY_TRANSPARENT": "true",
                        "LATTICE_PROXY_WORKLOAD": "demo/\(name)",
                        "LATTICE_PROXY_CLUSTER_NETWORKS": "198.51.100.0/24",
                        "LATTICE_PROXY_LOG_LEVEL": "debug",
                    ],
                    log: "\(directory)/proxy-\(name).log"
                )
            }
            for (pod, name) in [(a, "a"), (b, "b"), (c, "c")] {
                let ready = await eventually(timeout: .seconds(30), interval: .milliseconds(200)) {
                    (try? network.run(in: pod, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:4191/ready"], timeout: 5).stdout) == "200"
                }
                try #require(ready, "proxy \(name) not ready:\n\((try? TestFiles.read("\(directory)/proxy-\(name).log")) ?? "")")
            }

            // A capture on the bridge for everything that follows.
            let capture = try BackgroundProcess(
                "/usr/bin/tcpdump", ["-i", network.bridge, "-U", "-s", "0", "-w", "\(directory)/bridge.pcap", "tcp"],
                logPath: "\(directory)/tcpdump.log"
            )
            defer { capture.stop() }
            _ = await eventually(timeout: .seconds(5)) { (try? TestFiles.read("\(directory)/tcpdump.log"))?.contains("listening") == true }

            // a → b by IP, and a → the web Service's address (both pods answer), with no proxy settings at all.
            let direct = try network.run(in: a, ["curl", "-sS", "--max-time", "10", "http://198.51.100.11:8080/name.txt"])
            #expect(
                direct.stdout.hasPrefix("served-by-b"),
                "a → b: \(direct.stdout) \(direct.stderr)\n--- proxy a:\n\(Self.tail("\(directory)/proxy-a.log"))\n--- proxy b:\n\(Self.tail("\(directory)/proxy-b.log"))"
            )
            var servedBy: Set<String> = []
            for _ in 0..<12 {
                let viaService = try network.run(in: a, ["curl", "-sS", "--max-time", "10", "http://198.51.100.200/name.txt"])
                if let name = viaService.stdout.split(separator: " ").first { servedBy.insert(String(name)) }
            }
            #expect(servedBy == ["served-by-b", "served-by-c"], "the Service's two pods: \(servedBy)")
            // Raw TCP to a real Redis (an opaque port) through both proxies.
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-cli") {
                let pong = try network.run(in: a, ["redis-cli", "-h", "198.51.100.11", "-p", "6379", "ping"])
                #expect(pong.stdout.contains("PONG"), "redis: \(pong.stdout) \(pong.stderr)")
            }
            // b's proxy saw a's verified identity.
            let metrics = try network.run(in: b, ["curl", "-s", "http://127.0.0.1:4191/metrics"]).stdout
            #expect(
                metrics.split(separator: "\n").contains { $0.hasPrefix("request_total{") && $0.contains("direction=\"inbound\"") && $0.contains("tls=\"true\"") && $0.contains("client_id=\"a.demo.serviceaccount.identity.lattice.cluster.local\"") },
                "b's proxy has no mTLS request from a:\n\(metrics)"
            )

            // d, outside the mesh: plaintext accepted under the default policy, refused once b is cluster-authenticated.
            let open = try network.run(in: d, ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "http://198.51.100.11:8080/name.txt"])
            #expect(open.stdout == "200", "d → b under all-unauthenticated: \(open.stdout) \(open.stderr)")
            try TestFiles.write(Self.registry(bPolicy: "cluster-authenticated"), to: "\(directory)/registry.yaml")
            let refused = await eventually(timeout: .seconds(10), interval: .milliseconds(200)) {
                (try? network.run(in: d, ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", "http://198.51.100.11:8080/name.txt"]).stdout) == "403"
            }
            #expect(refused, "d's plaintext call was not refused under cluster-authenticated")
            let meshed = try network.run(in: a, ["curl", "-sS", "--max-time", "10", "http://198.51.100.11:8080/name.txt"])
            #expect(meshed.stdout.hasPrefix("served-by-b"), "a → b under cluster-authenticated: \(meshed.stdout) \(meshed.stderr)")

            // The wire: every meshed handshake is TLS 1.3, and the app's payload never crosses the bridge in clear
            // between meshed pods (d's plaintext calls are the only cleartext, and they are d's).
            capture.stop()
            let report = try ProcessRunner.run("/usr/bin/python3", ["-c", Self.pcapScript, "\(directory)/bridge.pcap", "198.51.100.13"])
            #expect(report.status == 0, "capture: \(report.stdout) \(report.stderr)")

            // Rollback: rules removed, proxies gone, the apps talk directly again.
            for pod in [a, b, c] {
                #expect(try network.run(in: pod, [ProcessRunner.executable("lattice-init"), "--mode", "nft", "--uninstall"]).status == 0)
                _ = try network.run(in: pod, ["pkill", "-u", "\(Self.proxyUID)", "-f", "lattice-proxy"])
            }
            let plain = try network.run(in: a, ["curl", "-sS", "--max-time", "10", "http://198.51.100.11:8080/name.txt"])
            #expect(plain.stdout.hasPrefix("served-by-b"), "after rollback: \(plain.stdout) \(plain.stderr)")
        }
    }

    static func tail(_ path: String, lines: Int = 25) -> String {
        ((try? TestFiles.read(path)) ?? "").split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Reads a pcap: every TLS ServerHello must negotiate TLS 1.3 (supported_versions 0x0304), there must be at least
    /// one, and the app's marker may appear in clear only on connections of the unmeshed pod (argv[2]).
    static let pcapScript = #"""
        import struct, sys
        data = open(sys.argv[1], 'rb').read()
        unmeshed = bytes(int(x) for x in sys.argv[2].split('.'))
        off, hellos, tls13, leaks = 24, 0, 0, []
        while off + 16 <= len(data):
            _, _, incl, _ = struct.unpack('<IIII', data[off:off+16]); off += 16
            pkt = data[off:off+incl]; off += incl
            if len(pkt) < 34 or pkt[12:14] != b'\x08\x00': continue
            ihl = (pkt[14] & 0x0f) * 4; ip = pkt[14:]; src, dst = ip[12:16], ip[16:20]
            tcp = ip[ihl:]
            if len(tcp) < 20: continue
            payload = tcp[(tcp[12] >> 4) * 4:]
            if b'secret-marker-7f3a' in payload and unmeshed not in (src, dst): leaks.append((src, dst))
            if len(payload) > 43 and payload[0] == 0x16 and payload[5] == 0x02:
                hellos += 1
                if b'\x00\x2b\x00\x02\x03\x04' in payload: tls13 += 1
        print(f"server hellos {hellos}, TLS 1.3 {tls13}, cleartext leaks {len(leaks)}")
        sys.exit(0 if hellos > 0 and hellos == tls13 and not leaks else 1)
        """#
}
