import Foundation
import LatticeTestSupport
import Testing

/// Pods as network namespaces with lattice-init's rules and a transparent lattice-proxy each (as its own UID), the
/// controller in the root namespace with a registry describing them. The apps know nothing of the mesh.
extension PodSuites {
@Suite("transparent pods")
struct TransparentPodTests {
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
                ports: [{port: 8080}, {port: 6379}, {port: 9090}]

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

    @Test("apps call pods and a Service address with no proxy settings (HTTP/1.1, HTTP/2, gRPC, Redis); mTLS 1.3 on the wire; policy; rollback")
    func transparentMesh() async throws {
        try await TestFiles.withDirectory { directory in
            let cluster = try MeshCluster(directory: directory)
            defer { cluster.tearDown() }
            let network = cluster.network
            let a = try network.addPod("a", host: 10)
            let b = try network.addPod("b", host: 11)
            let c = try network.addPod("c", host: 12)
            let d = try network.addPod("d", host: 13)
            try cluster.writeRegistry(Self.registry(bPolicy: nil))
            try await cluster.startControlPlane(serviceAccounts: ["a", "web"])

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
                try network.start(
                    in: b, ["/usr/bin/redis-server", "--port", "6379", "--save", "", "--appendonly", "no", "--protected-mode", "no"],
                    log: "\(directory)/redis.log"
                )
            }
            // lattice-init and a transparent proxy (its own UID) in a, b and c; d stays outside the mesh.
            try await cluster.mesh(a, serviceAccount: "a")
            try await cluster.mesh(b, serviceAccount: "web")
            try await cluster.mesh(c, serviceAccount: "web")

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
                "a → b: \(direct.stdout) \(direct.stderr)\n--- proxy a:\n\(cluster.tail(cluster.proxyLog(a)))\n--- proxy b:\n\(cluster.tail(cluster.proxyLog(b)))"
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
            // gRPC (HTTP/2) between pods: the demo's web front end in a calls the inventory service in b by IP,
            // with no proxy settings; the inventory service's store runs beside it on b's loopback.
            let lattice = ProcessRunner.executable("lattice")
            try network.start(in: b, [lattice, "sample-app", "store", "--listen", "127.0.0.1:7000"], log: "\(directory)/store.log")
            try network.start(
                in: b, [lattice, "sample-app", "api", "--listen", "0.0.0.0:9090", "--store", "127.0.0.1:7000", "--name", "api-in-b"],
                log: "\(directory)/api.log"
            )
            try network.start(in: a, [lattice, "sample-app", "web", "--listen", "127.0.0.1:8081", "--api", "198.51.100.11:9090"], log: "\(directory)/web-a.log")
            var grpcReply = ""
            let answered = await eventually(timeout: .seconds(30), interval: .milliseconds(300)) {
                grpcReply = (try? network.run(in: a, ["curl", "-sS", "--max-time", "10", "http://127.0.0.1:8081/item/widget"]).stdout) ?? ""
                return grpcReply.contains("\"served_by\":\"api-in-b\"")
            }
            #expect(answered, "gRPC a → b: \(grpcReply)\n--- proxy a:\n\(cluster.tail(cluster.proxyLog(a)))")
            // b's proxy saw a's verified identity.
            let metrics = try cluster.metrics(b)
            #expect(
                metrics.split(separator: "\n").contains { $0.hasPrefix("request_total{") && $0.contains("direction=\"inbound\"") && $0.contains("tls=\"true\"") && $0.contains("client_id=\"a.demo.serviceaccount.identity.lattice.cluster.local\"") },
                "b's proxy has no mTLS request from a:\n\(metrics)"
            )
            #expect(
                metrics.split(separator: "\n").contains { $0.hasPrefix("response_total{") && $0.contains("grpc_status=\"0\"") && $0.contains("tls=\"true\"") && $0.contains("client_id=\"a.demo.serviceaccount.identity.lattice.cluster.local\"") },
                "b's proxy has no successful gRPC response to a over mTLS:\n\(metrics)"
            )

            // Plain HTTP/2 (h2c, prior knowledge, not gRPC) between pods: a real HTTP/2 server (nghttpd) in c, curl and
            // h2load in a, many streams multiplexed on each connection.
            if FileManager.default.isExecutableFile(atPath: "/usr/sbin/nghttpd") {
                try network.start(
                    in: c, ["/usr/sbin/nghttpd", "--no-tls", "-d", "\(directory)/www-c", "8082"],
                    log: "\(directory)/nghttpd.log"
                )
                var h2Reply = ""
                let h2Answered = await eventually(timeout: .seconds(20), interval: .milliseconds(300)) {
                    h2Reply = (try? network.run(
                        in: a, ["curl", "-sS", "--http2-prior-knowledge", "-w", " http%{http_version}", "--max-time", "10", "http://198.51.100.12:8082/name.txt"]
                    ).stdout) ?? ""
                    return h2Reply.hasPrefix("served-by-c")
                }
                #expect(h2Answered && h2Reply.hasSuffix(" http2"), "h2c a → c: \(h2Reply)\n--- proxy a:\n\(cluster.tail(cluster.proxyLog(a)))")
                let load = try network.run(in: a, ["h2load", "-n", "200", "-c", "2", "-m", "8", "-T", "10", "http://198.51.100.12:8082/name.txt"])
                #expect(load.stdout.contains("200 succeeded, 0 failed"), "h2load a → c:\n\(load.stdout)\(load.stderr)")
                let cMetrics = try cluster.metrics(c)
                let inboundFromA = cMetrics.split(separator: "\n").filter {
                    $0.hasPrefix("request_total{") && $0.contains("direction=\"inbound\"") && $0.contains("tls=\"true\"")
                        && $0.contains("client_id=\"a.demo.serviceaccount.identity.lattice.cluster.local\"")
                }
                let counted = inboundFromA.compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }.reduce(0, +)
                #expect(counted >= 201, "c's proxy counted \(counted) mTLS requests from a (want ≥ 201):\n\(cMetrics)")
            } else {
                Issue.record("nghttpd is missing: apt-get install nghttp2-server (scripts/test installs it)")
            }

            // d, outside the mesh: plaintext accepted under the default policy, refused once b is cluster-authenticated.
            let open = try network.run(in: d, ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "http://198.51.100.11:8080/name.txt"])
            #expect(open.stdout == "200", "d → b under all-unauthenticated: \(open.stdout) \(open.stderr)")
            try cluster.writeRegistry(Self.registry(bPolicy: "cluster-authenticated"))
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
            print("transparent pods capture: \(report.stdout.trimmingCharacters(in: .whitespacesAndNewlines))")
            // The same capture read by Wireshark's own dissector: every ServerHello's supported_versions is 0x0304.
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark") {
                let ports = ["8080", "9090", "6379", "8082", "80"].flatMap { ["-d", "tcp.port==\($0),tls"] }
                let tshark = try ProcessRunner.run(
                    "/usr/bin/tshark",
                    ["-r", "\(directory)/bridge.pcap"] + ports
                        + ["-Y", "tls.handshake.type == 2", "-T", "fields", "-e", "tls.handshake.extensions.supported_version"]
                )
                let versions = tshark.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                #expect(tshark.status == 0 && !versions.isEmpty && versions.allSatisfy { $0 == "0x0304" }, "tshark: \(tshark.stdout) \(tshark.stderr)")
                print("transparent pods capture (tshark): \(versions.count) ServerHello(s), supported_versions \(Set(versions).sorted())")
            } else {
                Issue.record("tshark is missing: apt-get install tshark (scripts/test installs it)")
            }

            // Rollback: rules removed, proxies gone, the apps talk directly again.
            for pod in [a, b, c] { try cluster.unmesh(pod) }
            let plain = try network.run(in: a, ["curl", "-sS", "--max-time", "10", "http://198.51.100.11:8080/name.txt"])
            #expect(plain.stdout.hasPrefix("served-by-b"), "after rollback: \(plain.stdout) \(plain.stderr)")
        }
    }

    @Test("a destination no one dials any more stops being watched, unless a connection to it is still open")
    func idleDestinationsExpire() async throws {
        try await TestFiles.withDirectory { directory in
            let cluster = try MeshCluster(directory: directory)
            defer { cluster.tearDown() }
            let network = cluster.network
            let a = try network.addPod("a", host: 10)
            let b = try network.addPod("b", host: 11)
            try cluster.writeRegistry(Self.registry(bPolicy: nil))
            try await cluster.startControlPlane(serviceAccounts: ["a", "web"])
            try FileManager.default.createDirectory(atPath: "\(directory)/www", withIntermediateDirectories: true)
            try TestFiles.write("served-by-b", to: "\(directory)/www/name.txt")
            try network.start(
                in: b, ["/usr/bin/python3", "-m", "http.server", "8080", "--bind", "0.0.0.0", "--directory", "\(directory)/www"],
                log: "\(directory)/web-b.log"
            )
            try await cluster.mesh(a, serviceAccount: "a", environment: ["LATTICE_PROXY_DESTINATION_IDLE_TIMEOUT": "2s"])
            try await cluster.mesh(b, serviceAccount: "web")
            func gauge(_ text: String, _ name: String) -> Int? {
                text.split(separator: "\n").first { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
                    .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }.map { Int($0) }
            }
            func destinations() -> Int? { (try? cluster.metrics(a)).flatMap { gauge($0, "lattice_discovery_destinations") } }
            func controllerStreams() -> Int? {
                (try? cluster.controllerMetrics()).flatMap { gauge($0, #"lattice_discovery_streams{api="destination"}"#) }
            }
            let streamsBefore = controllerStreams() ?? 0
            let first = try network.run(in: a, ["curl", "-sS", "--max-time", "10", "http://198.51.100.11:8080/name.txt"])
            #expect(first.stdout == "served-by-b", "\(first.stderr)")
            #expect(destinations() == 1)
            #expect((controllerStreams() ?? 0) == streamsBefore + 1, "the controller holds a stream for a's destination")
            // Idle (2 s, swept every second): the watch goes, and the controller's stream with it.
            let expired = await eventually(timeout: .seconds(20), interval: .milliseconds(250)) { destinations() == 0 }
            #expect(expired, "a's destination is still watched:\n\(cluster.tail(cluster.proxyLog(a)))")
            let released = await eventually(timeout: .seconds(10), interval: .milliseconds(250)) { controllerStreams() == streamsBefore }
            #expect(released, "the controller still holds \(controllerStreams() ?? -1) destination streams (before: \(streamsBefore))")
            // Dialled again: asked afresh, still meshed (b's proxy counts a's identity).
            let again = try network.run(in: a, ["curl", "-sS", "--max-time", "10", "http://198.51.100.11:8080/name.txt"])
            #expect(again.stdout == "served-by-b", "\(again.stderr)")
            #expect(destinations() == 1)
            // A connection held open keeps its destination watched past the timeout; once it closes, it goes.
            // Held until the test stops it (a fixed sleep in the client could run out first when the whole suite
            // starves this test's timers).
            let holder = try network.start(
                in: a,
                [
                    "/usr/bin/python3", "-c",
                    "import socket,time; s=socket.create_connection(('198.51.100.11', 8080)); print('connected', flush=True); time.sleep(120)",
                ],
                log: "\(directory)/held.log"
            )
            // Counted from the moment the connection is up (python may start slowly on a loaded machine).
            let held = await eventually(timeout: .seconds(30), interval: .milliseconds(100)) {
                (try? TestFiles.read("\(directory)/held.log"))?.contains("connected") == true
            }
            try #require(held, "the held connection never opened")
            try await Task.sleep(for: .seconds(4))
            #expect(destinations() == 1, "expired while a connection to it was open:\n\(cluster.tail(cluster.proxyLog(a), lines: 40))")
            holder.stop()
            let expiredAfterClose = await eventually(timeout: .seconds(20), interval: .milliseconds(250)) { destinations() == 0 }
            #expect(expiredAfterClose)
            let bMetrics = try cluster.metrics(b)
            #expect(
                bMetrics.split(separator: "\n").contains { $0.hasPrefix("request_total{") && $0.contains("tls=\"true\"") && $0.contains("client_id=\"a.demo.serviceaccount.identity.lattice.cluster.local\"") },
                "b's proxy has no mTLS request from a:\n\(bMetrics)"
            )
        }
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

/// Real databases in one pod driven by their own clients from another, through both transparent proxies, then again
/// after rollback: the figures of both runs are printed (speed is judged in the note and bench/, not asserted).
@Suite("transparent pods: databases")
struct TransparentDatabaseTests {
    static let registry = """
        workloads:
          - {name: client, namespace: demo, serviceAccount: client, addresses: [198.51.100.20]}
          - {name: db, namespace: demo, serviceAccount: db, addresses: [198.51.100.21], ports: [{port: 5432}, {port: 6379}, {port: 3306}, {port: 2222}]}

        """

    @Test("PostgreSQL with pgbench, Redis with redis-benchmark, MariaDB (server speaks first); skip ports bypass the proxy")
    func databases() async throws {
        let pgBin = "/usr/lib/postgresql/15/bin"
        try #require(FileManager.default.isExecutableFile(atPath: "\(pgBin)/postgres"), "PostgreSQL 15 is not installed")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server"), "redis-server is not installed")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/sbin/mariadbd"), "mariadbd is not installed")
        let pgbench = try #require(ProcessRunner.which("pgbench"))
        try await TestFiles.withDirectory { directory in
            let cluster = try MeshCluster(directory: directory)
            defer { cluster.tearDown() }
            let network = cluster.network
            let client = try network.addPod("client", host: 20)
            let db = try network.addPod("db", host: 21)
            try cluster.writeRegistry(Self.registry)
            try await cluster.startControlPlane(serviceAccounts: ["client", "db"])

            // PostgreSQL (as postgres, trusting the pod network), Redis, MariaDB, and a plain TCP echo on a skip port.
            let pgData = "\(directory)/pg"
            try FileManager.default.createDirectory(atPath: pgData, withIntermediateDirectories: true)
            _ = try ProcessRunner.run("/bin/chown", ["-R", "postgres:postgres", pgData])
            let initdb = try ProcessRunner.run(
                "/usr/sbin/runuser", ["-u", "postgres", "--", "\(pgBin)/initdb", "-D", "\(pgData)/db", "-A", "trust", "-U", "postgres"], timeout: 120
            )
            try #require(initdb.status == 0, "initdb: \(initdb.stderr)")
            let hba = try TestFiles.read("\(pgData)/db/pg_hba.conf")
            try TestFiles.write(hba + "\nhost all all 198.51.100.0/24 trust\n", to: "\(pgData)/db/pg_hba.conf")
            try network.start(
                in: db, ["/usr/sbin/runuser", "-u", "postgres", "--", "\(pgBin)/postgres", "-D", "\(pgData)/db", "-p", "5432", "-k", pgData, "-c", "listen_addresses=*"],
                log: "\(directory)/postgres.log"
            )
            try network.start(
                in: db, ["/usr/bin/redis-server", "--port", "6379", "--save", "", "--appendonly", "no", "--protected-mode", "no"],
                log: "\(directory)/redis.log"
            )
            let mariaData = "\(directory)/maria"
            let installed = try ProcessRunner.run(
                try #require(ProcessRunner.which("mariadb-install-db")),
                ["--no-defaults", "--datadir=\(mariaData)", "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"],
                timeout: 120
            )
            try #require(installed.status == 0, "mariadb-install-db: \(installed.stderr)")
            try network.start(
                in: db,
                [
                    "/usr/sbin/mariadbd", "--no-defaults", "--datadir=\(mariaData)", "--user=root", "--port=3306", "--bind-address=0.0.0.0",
                    "--socket=\(directory)/mysqld.sock", "--pid-file=\(directory)/mysqld.pid", "--skip-log-bin", "--skip-grant-tables",
                ],
                log: "\(directory)/mariadb.log"
            )
            try network.start(
                in: db, ["/usr/bin/python3", "-c", Self.echoServer, "2222"], log: "\(directory)/echo.log"
            )
            for port in [5432, 6379, 3306, 2222] {
                let up = await eventually(timeout: .seconds(60), interval: .milliseconds(200)) {
                    (try? network.run(in: db, ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/\(port)"], timeout: 5).status) == 0
                }
                try #require(up, "port \(port) did not open in the db pod")
            }

            try await cluster.mesh(client, serviceAccount: "client")
            try await cluster.mesh(db, serviceAccount: "db", initArguments: ["--skip-inbound-ports", "2222"])

            let meshed = try Self.drive(network: network, client: client, pgbench: pgbench)
            // Every database connection went through both proxies over mTLS; the skip port did not.
            let dbMetrics = try cluster.metrics(db)
            for port in [5432, 6379, 3306] {
                #expect(
                    dbMetrics.split(separator: "\n").contains {
                        $0.hasPrefix("tcp_open_total{") && $0.contains("tls=\"true\"") && $0.contains(":\(port)\"")
                            && $0.contains("client_id=\"client.demo.serviceaccount.identity.lattice.cluster.local\"")
                    },
                    "no mTLS connection to \(port) in db's proxy metrics:\n\(dbMetrics)"
                )
            }
            #expect(!dbMetrics.contains(":2222\""), "the skip port went through the proxy")
            let echo = try network.run(in: client, ["bash", "-c", "exec 3<>/dev/tcp/198.51.100.21/2222; echo skipped >&3; head -c 7 <&3"])
            #expect(echo.stdout == "skipped", "skip port echo: \(echo.stdout) \(echo.stderr)")

            // Rollback, then the same drive directly.
            try cluster.unmesh(client)
            try cluster.unmesh(db)
            let direct = try Self.drive(network: network, client: client, pgbench: pgbench)
            print("pods databases, meshed: \(meshed)")
            print("pods databases, direct: \(direct)")
        }
    }

    /// pgbench (select-only, 4 clients × 1 000 transactions), redis-benchmark (20 000 SET and GET, 8 clients), a MariaDB query.
    static func drive(network: PodNetwork, client: PodNetwork.Pod, pgbench: String) throws -> String {
        let host = "198.51.100.21"
        let initialize = try network.run(in: client, [pgbench, "-h", host, "-U", "postgres", "-i", "-s", "1", "-q", "postgres"], timeout: 120)
        #expect(initialize.status == 0, "pgbench -i: \(initialize.stderr)")
        let pg = try network.run(in: client, [pgbench, "-h", host, "-U", "postgres", "-S", "-c", "4", "-t", "1000", "postgres"], timeout: 120)
        #expect(pg.status == 0 && pg.stdout.contains("tps ="), "pgbench: \(pg.stdout.replacingOccurrences(of: "\n", with: " / ")) stderr: \(pg.stderr.replacingOccurrences(of: "\n", with: " / "))")
        let tps = pg.stdout.split(separator: "\n").first { $0.hasPrefix("tps =") }.map(String.init) ?? "?"
        let latency = pg.stdout.split(separator: "\n").first { $0.hasPrefix("latency average") }.map(String.init) ?? "?"
        let redis = try network.run(in: client, ["redis-benchmark", "-h", host, "-p", "6379", "-n", "20000", "-c", "8", "-t", "set,get", "-q"], timeout: 120)
        #expect(redis.status == 0 && redis.stdout.contains("GET"), "redis-benchmark: \(redis.stdout) \(redis.stderr)")
        let redisLines = redis.stdout.replacingOccurrences(of: "\r", with: "\n").split(separator: "\n")
            .filter { $0.contains("requests per second") }.map { $0.trimmingCharacters(in: .whitespaces) }
        let maria = try network.run(
            in: client,
            ["mariadb", "--no-defaults", "-h", host, "-P", "3306", "-uroot", "--connect-timeout=10", "-N", "-e", "SELECT 'server speaks first'"],
            timeout: 30
        )
        #expect(maria.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "server speaks first", "mariadb: \(maria.stdout) \(maria.stderr)")
        return "pgbench -S -c4 -t1000: \(tps); \(latency) | redis-benchmark -c8: \(redisLines.joined(separator: ", "))"
    }

    /// A line-echo server on argv[1] (stands in for a port the mesh must not touch).
    static let echoServer = #"""
        import socket, sys, threading
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16)
        def serve(c):
            with c:
                while True:
                    d = c.recv(4096)
                    if not d: return
                    c.sendall(d)
        while True:
            c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
        """#
}
}
