import Foundation
import LatticeTestSupport
import Testing

/// Real databases and their real clients through a real proxy pair: opaque ports skip protocol detection, so a
/// server that speaks first (MariaDB) never waits on it.
@Suite(.tags(.integration), .serialized, .timeLimit(.minutes(5)))
struct DatabaseProxyTests {
    /// A controller, the database's proxy (db) and the client's proxy (web, whose outbound listener leads to the
    /// database's port). The database listens on a free port (a system PostgreSQL or MariaDB may hold the default
    /// one), declared opaque as 5432/3306/6379 are by default. The client proxy's detection timeout is 20 s: a client
    /// that had to wait for it would fail its own connect timeout, so each test also proves detection was skipped.
    static func withPair(
        appPort: Int,
        _ body: (_ outboundPort: Int, _ client: ProxyProcess, _ server: ProxyProcess) async throws -> Void
    ) async throws {
        try await TestFiles.withDirectory { dir in
            try ControllerProcess.makeRunbookCertificates(in: dir)
            let controller = try await ControllerProcess(directory: dir)
            defer { controller.stop() }
            let server = try ProxyProcess(
                directory: dir, name: "db", serviceAccount: "db", token: "db-token",
                controllerPort: controller.identityPort, inboundDefaultPort: appPort
            )
            defer { server.stop() }
            let outboundPort = try LoopbackTCP.freePort()
            let client = try ProxyProcess(
                directory: dir, name: "web", serviceAccount: "web", token: "web-token",
                controllerPort: controller.identityPort,
                upstreams: ["127.0.0.1:\(outboundPort)=\(server.identity)@127.0.0.1:\(server.inboundPort)/\(appPort)"],
                extraEnvironment: ["LATTICE_PROXY_DETECT_TIMEOUT": "20s", "LATTICE_PROXY_OPAQUE_PORTS": "\(appPort)"]
            )
            defer { client.stop() }
            try await server.waitUntilReady()
            try await client.waitUntilReady()
            try await body(outboundPort, client, server)
            // Opaque TCP over mTLS, counted with both identities; no HTTP series.
            #expect(client.metricValue("tcp_open_total", [#"tls="true""#, #"server_id="\#(server.identity)""#]) ?? 0 >= 1)
            #expect(server.metricValue("tcp_open_total", [#"tls="true""#, #"client_id="\#(client.identity)""#]) ?? 0 >= 1)
            #expect(client.metricValue("request_total") == nil)
        }
    }

    static func waitForPort(_ port: Int, _ what: String, log: () -> String) async throws {
        let up = await eventually(timeout: .seconds(60)) { LoopbackTCP.open(port: port).map { close($0); return true } ?? false }
        try #require(up, "\(what) did not start: \(log().suffix(2000))")
    }


    @Test func redisThroughThePair() async throws {
        let redisServer = try #require(ProcessRunner.which("redis-server"), "redis-server is not installed")
        let redisCLI = try #require(ProcessRunner.which("redis-cli"))
        let port = try LoopbackTCP.freePort()
        try await TestFiles.withDirectory { dir in
            let redis = try BackgroundProcess(
                redisServer,
                ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
                logPath: "\(dir)/redis.log"
            )
            defer { redis.stop() }
            try await Self.waitForPort(port, "redis-server") { redis.log }
            try await Self.withPair(appPort: port) { outboundPort, _, _ in
                let set = try ProcessRunner.run(redisCLI, ["-p", "\(outboundPort)", "SET", "lattice", "meshed"], timeout: 15)
                #expect(set.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "OK", "\(set.stdout) \(set.stderr)")
                let get = try ProcessRunner.run(redisCLI, ["-p", "\(outboundPort)", "GET", "lattice"], timeout: 15)
                #expect(get.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "meshed")
                // A pipelined burst on one connection.
                let bench = try ProcessRunner.run(
                    try #require(ProcessRunner.which("redis-benchmark")),
                    ["-p", "\(outboundPort)", "-n", "2000", "-c", "4", "-P", "8", "-t", "set,get", "-q"], timeout: 60
                )
                #expect(bench.status == 0 && bench.stdout.contains("GET"), "\(bench.stdout) \(bench.stderr)")
            }
        }
    }

    @Test func mariaDBSpeaksFirstAndIsNotKeptWaiting() async throws {
        let mariadbd = "/usr/sbin/mariadbd"
        try #require(FileManager.default.isExecutableFile(atPath: mariadbd), "mariadbd is not installed")
        let install = try #require(ProcessRunner.which("mariadb-install-db"))
        let mysql = try #require(ProcessRunner.which("mariadb") ?? ProcessRunner.which("mysql"))
        let port = try LoopbackTCP.freePort()
        try await TestFiles.withDirectory { dir in
            let data = "\(dir)/data"
            let installed = try ProcessRunner.run(
                install,
                ["--no-defaults", "--datadir=\(data)", "--user=root", "--auth-root-authentication-method=normal", "--skip-test-db"],
                timeout: 120
            )
            try #require(installed.status == 0, "mariadb-install-db: \(installed.stdout) \(installed.stderr)")
            let server = try BackgroundProcess(
                mariadbd,
                [
                    "--no-defaults", "--datadir=\(data)", "--user=root", "--port=\(port)", "--bind-address=127.0.0.1",
                    "--socket=\(dir)/mysqld.sock", "--pid-file=\(dir)/mysqld.pid", "--skip-log-bin",
                ],
                logPath: "\(dir)/mariadb.log"
            )
            defer { server.stop(grace: 20) }
            try await Self.waitForPort(port, "mariadbd") { server.log }
            try await Self.withPair(appPort: port) { outboundPort, _, _ in
                let result = try ProcessRunner.run(
                    mysql,
                    [
                        "--no-defaults", "-h", "127.0.0.1", "-P", "\(outboundPort)", "-uroot", "--connect-timeout=10", "-N", "-e",
                        "CREATE DATABASE mesh; CREATE TABLE mesh.t (v VARCHAR(20)); INSERT INTO mesh.t VALUES ('through mTLS'); SELECT v FROM mesh.t;",
                    ],
                    timeout: 30
                )
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "through mTLS")
            }
        }
    }

    @Test func postgresWithPsqlAndPgbench() async throws {
        let bin = "/usr/lib/postgresql/15/bin"
        try #require(FileManager.default.isExecutableFile(atPath: "\(bin)/postgres"), "PostgreSQL 15 is not installed")
        let psql = try #require(ProcessRunner.which("psql"))
        let pgbench = try #require(ProcessRunner.which("pgbench"))
        let port = try LoopbackTCP.freePort()
        try await TestFiles.withDirectory { dir in
            // PostgreSQL refuses to run as root: its folder belongs to the postgres user.
            let data = "\(dir)/pg"
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            _ = try ProcessRunner.run("/bin/chown", ["-R", "postgres:postgres", data])
            _ = try ProcessRunner.run("/bin/chmod", ["755", dir])
            let initdb = try ProcessRunner.run(
                "/usr/sbin/runuser", ["-u", "postgres", "--", "\(bin)/initdb", "-D", "\(data)/db", "-A", "trust", "-U", "postgres"],
                timeout: 120
            )
            try #require(initdb.status == 0, "initdb: \(initdb.stderr)")
            let server = try BackgroundProcess(
                "/usr/sbin/runuser",
                [
                    "-u", "postgres", "--", "\(bin)/postgres", "-D", "\(data)/db", "-p", "\(port)", "-k", data,
                    "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                ],
                logPath: "\(dir)/postgres.log"
            )
            defer {
                _ = try? ProcessRunner.run("/usr/sbin/runuser", ["-u", "postgres", "--", "\(bin)/pg_ctl", "stop", "-D", "\(data)/db", "-m", "fast"], timeout: 30)
                server.stop()
            }
            try await Self.waitForPort(port, "postgres") { server.log }
            try await Self.withPair(appPort: port) { outboundPort, _, _ in
                let query = try ProcessRunner.run(
                    psql, ["-h", "127.0.0.1", "-p", "\(outboundPort)", "-U", "postgres", "-tAc", "SELECT 'through ' || 'mTLS'"],
                    timeout: 30
                )
                #expect(query.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "through mTLS", "\(query.stderr)")
                let initialize = try ProcessRunner.run(pgbench, ["-h", "127.0.0.1", "-p", "\(outboundPort)", "-U", "postgres", "-i", "-s", "1", "postgres"], timeout: 120)
                #expect(initialize.status == 0, "\(initialize.stderr)")
                let load = try ProcessRunner.run(
                    pgbench, ["-h", "127.0.0.1", "-p", "\(outboundPort)", "-U", "postgres", "-c", "4", "-t", "50", "postgres"], timeout: 120
                )
                #expect(load.status == 0 && load.stdout.contains("number of failed transactions: 0"), "\(load.stdout) \(load.stderr)")
            }
        }
    }
}
