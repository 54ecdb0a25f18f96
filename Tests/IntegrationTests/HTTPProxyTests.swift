import Foundation
import LatticeTestSupport
import Testing

/// HTTP-aware proxying through a real proxy pair, with curl and h2load as the clients.
@Suite(.tags(.integration), .serialized, .timeLimit(.minutes(5)))
struct HTTPProxyTests {
    @Test func http1RequestsCrossThePairOverMutualTLSAndAreCountedPerRequest() async throws {
        try await HTTPMesh.with(version: .http1) { mesh in
            let response = try Curl.request("\(mesh.outbound)/headers")
            #expect(response.status == 200, "\(response)")
            // The server-side proxy told the app who called, from the verified certificate.
            #expect(response.body.contains("l5d-client-id: \(mesh.client.identity)"), "\(response.body)")
            // Keep-alive: three requests on one client connection, all answered.
            let many = try ProcessRunner.run(
                "/usr/bin/curl",
                ["-sS", "-w", "%{http_code} %{num_connects}\n"]
                    + Array(repeating: ["-o", "/dev/null", "\(mesh.outbound)/name"], count: 3).flatMap { $0 }
            )
            #expect(many.stdout == "200 1\n200 0\n200 0\n", "\(many.stdout) \(many.stderr)")
            let client = mesh.client
            let server = mesh.servers[0]
            let tls = #"tls="true""#
            #expect(client.metricValue("request_total", [tls, #"direction="outbound""#, #"server_id="\#(server.identity)""#, #"authority="api.default.svc.cluster.local:8080""#]) == 4)
            #expect(server.metricValue("request_total", [tls, #"direction="inbound""#, #"client_id="\#(client.identity)""#]) == 4)
            #expect(server.metricValue("response_total", [#"status_code="200""#, #"classification="success""#]) == 4)
            #expect(client.metricValue("response_latency_ms_count", [#"status_code="200""#]) == 4)
            #expect(server.metricValue("inbound_http_authz_allow_total", [tls]) == 4)
            // Prometheus's own checker parses both proxies' exposition (histograms included) and finds nothing to
            // object to but one lint: the unit abbreviation in Linkerd's `response_latency_ms`, a name kept so
            // dashboards keep working.
            let promtool = try #require(ProcessRunner.which("promtool"), "promtool (Debian: prometheus) is not installed")
            for proxy in [client, server] {
                try TestFiles.write(proxy.metrics(), to: "\(mesh.directory)/metrics.txt")
                let lint = try ProcessRunner.run("/bin/sh", ["-c", "\(promtool) check metrics < \(mesh.directory)/metrics.txt"])
                let problems = (lint.stdout + lint.stderr).split(separator: "\n").filter {
                    !$0.contains("response_latency_ms metric names should not contain abbreviated units")
                }
                #expect(problems.isEmpty, "promtool: \(lint.stdout) \(lint.stderr)")
                #expect(lint.status == 0 || lint.status == 3, "promtool could not parse the exposition: \(lint.stderr)")
            }
            // Two HTTP/1 upstream connections at most were opened by the client proxy for four requests.
            let opened = client.metricValue("tcp_open_total", [#"server_id="\#(server.identity)""#, #"peer="dst""#]) ?? 0
            #expect(opened >= 1)
        }
    }

    @Test func http2RequestsOnOneConnectionSpreadAcrossEndpoints() async throws {
        try await HTTPMesh.with(version: .http2, count: 3) { mesh in
            // nghttp sends every URI on one HTTP/2 connection, concurrently; the bodies name the app that answered.
            let nghttp = try #require(ProcessRunner.which("nghttp"), "nghttp (nghttp2-client) is not installed")
            let result = try ProcessRunner.run(nghttp, (0..<30).map { "\(mesh.outbound)/name?request=\($0)" })
            #expect(result.status == 0, "\(result.stderr)")
            let names = result.stdout.matches(of: /api-[0-9]/).map { String($0.output) }
            #expect(names.count == 30, "\(result.stdout) \(result.stderr)")
            #expect(Set(names).count >= 2, "all 30 requests went to \(Set(names))")
            // One client connection (the outbound listener's) carried them all.
            #expect(mesh.client.metricValue("tcp_open_total", [#"direction="outbound""#, #"target_addr="api.default.svc.cluster.local:8080""#]) == 1)
            var served = 0.0
            for server in mesh.servers {
                served += server.metricValue("request_total", [#"direction="inbound""#, #"tls="true""#]) ?? 0
            }
            #expect(served == 30)
        }
    }

    @Test func h2loadThroughThePairFailsNothing() async throws {
        let h2load = try #require(ProcessRunner.which("h2load"), "h2load (nghttp2-client) is not installed")
        try await HTTPMesh.with(version: .http2, count: 2) { mesh in
            let result = try ProcessRunner.run(h2load, ["-n", "2000", "-c", "4", "-m", "10", "\(mesh.outbound)/big/512"], timeout: 120)
            #expect(result.stdout.contains("2000 succeeded, 0 failed, 0 errored"), "\(result.stdout)")
            #expect(result.stdout.contains("status codes: 2000 2xx"), "\(result.stdout)")
        }
    }

    @Test func largeBodiesStreamBothWays() async throws {
        try await HTTPMesh.with(version: .http1) { mesh in
            let dir = mesh.directory
            let payload = (0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }
            try Data(payload).write(to: URL(filePath: "\(dir)/upload.bin"))
            let result = try ProcessRunner.run(
                "/usr/bin/curl",
                ["-sS", "--max-time", "60", "-H", "Expect:", "--data-binary", "@\(dir)/upload.bin", "-o", "\(dir)/echoed.bin", "\(mesh.outbound)/echo"],
                timeout: 90
            )
            #expect(result.status == 0, "\(result.stderr)")
            let echoed = try Data(contentsOf: URL(filePath: "\(dir)/echoed.bin"))
            #expect(echoed == Data(payload))
            let big = try ProcessRunner.run("/usr/bin/curl", ["-sS", "-o", "/dev/null", "-w", "%{size_download}", "\(mesh.outbound)/big/20000000"], timeout: 90)
            #expect(big.stdout == "20000000", "\(big.stdout) \(big.stderr)")
        }
    }

    @Test func denyRefusesRequestsWith403ButKeepsTheProbesOpen() async throws {
        try await HTTPMesh.with(version: .http1, serverPolicy: "deny") { mesh in
            let meshed = try Curl.request("\(mesh.outbound)/name")
            #expect(meshed.status == 403)
            #expect(meshed.headers["lattice-proxy-error"] == "deny_all", "\(meshed.headers)")
            let server = mesh.servers[0]
            let plaintext = try Curl.request("http://127.0.0.1:\(server.inboundPort)/name")
            #expect(plaintext.status == 403)
            #expect(server.metricValue("inbound_http_authz_deny_total", [#"reason="deny_all""#]) == 2)
            #expect(server.metricValue("response_total", [#"status_code="403""#, #"classification="success""#]) == 2)
        }
    }

    @Test func probesStayAllowedUnderDenyFromTheProbeNetworksOnly() async throws {
        try await TestFiles.withDirectory { dir in
            try ControllerProcess.makeRunbookCertificates(in: dir)
            let controller = try await ControllerProcess(directory: dir)
            defer { controller.stop() }
            let app = try await HTTPTestServer(name: "db", version: .http1)
            let open = try ProxyProcess(
                directory: dir, name: "db", serviceAccount: "db", token: "db-token", controllerPort: controller.identityPort,
                inboundDefaultPort: app.port, policy: "deny",
                extraEnvironment: ["LATTICE_PROXY_INBOUND_PROBES": "\(app.port):/name"]
            )
            defer { open.stop() }
            let closed = try ProxyProcess(
                directory: dir, name: "db2", serviceAccount: "db", token: "db-token", controllerPort: controller.identityPort,
                inboundDefaultPort: app.port, policy: "deny",
                extraEnvironment: ["LATTICE_PROXY_INBOUND_PROBES": "\(app.port):/name", "LATTICE_PROXY_PROBE_NETWORKS": "198.51.100.0/24"]
            )
            defer { closed.stop() }
            try await open.waitUntilReady()
            try await closed.waitUntilReady()
            #expect(try Curl.request("http://127.0.0.1:\(open.inboundPort)/name").status == 200)
            #expect(try Curl.request("http://127.0.0.1:\(open.inboundPort)/name?x=1").status == 200)
            #expect(try Curl.request("http://127.0.0.1:\(open.inboundPort)/headers").status == 403)
            #expect(try Curl.request("http://127.0.0.1:\(open.inboundPort)/name", arguments: ["-X", "POST"]).status == 403)
            // From outside the probe networks, the probe path is denied like everything else.
            #expect(try Curl.request("http://127.0.0.1:\(closed.inboundPort)/name").status == 403)
            #expect(open.metricValue("inbound_http_authz_allow_total", [#"srv_name="default:probe""#]) == 2)
            await app.stop()
        }
    }

    @Test func clusterAuthenticatedAndAuditBehaveAsStated() async throws {
        try await HTTPMesh.with(version: .http1, serverPolicy: "cluster-authenticated") { mesh in
            let server = mesh.servers[0]
            #expect(try Curl.request("\(mesh.outbound)/name").status == 200)
            let plaintext = try Curl.request("http://127.0.0.1:\(server.inboundPort)/name")
            #expect(plaintext.status == 403)
            #expect(plaintext.headers["lattice-proxy-error"] == "unauthenticated")
        }
        try await HTTPMesh.with(version: .http1, serverPolicy: "audit") { mesh in
            let server = mesh.servers[0]
            let meshed = try Curl.request("\(mesh.outbound)/name")
            let plaintext = try Curl.request("http://127.0.0.1:\(server.inboundPort)/name")
            #expect(meshed.status == 200)
            #expect(plaintext.status == 200)
            #expect(server.metricValue("lattice_inbound_http_audit_would_deny_total", [#"reason="unauthenticated""#]) == 1)
            #expect(server.metricValue("inbound_http_authz_allow_total", [#"tls="no_identity""#]) == 1)
        }
    }

    @Test func aBadRequestGets400AndAnUpstreamResetCutsTheResponse() async throws {
        try await HTTPMesh.with(version: .http1) { mesh in
            // Malformed header line: the proxy answers 400 itself and counts it.
            let garbage = Array("GET / HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n".utf8)
            let reply = LoopbackTCP.exchange(port: mesh.outboundPort, payload: garbage).map { String(decoding: $0, as: UTF8.self) } ?? ""
            #expect(reply.hasPrefix("HTTP/1.1 400"), "\(reply)")
            let counted = await eventually(timeout: .seconds(5)) {
                mesh.client.metricValue("lattice_http_errors_total", [#"reason="malformed_request""#]) == 1
            }
            #expect(counted)
            // The app announces 1000 bytes, sends 10 and closes: the client must see an incomplete response.
            let reset = try ProcessRunner.run("/usr/bin/curl", ["-sS", "-o", "/dev/null", "\(mesh.outbound)/reset"])
            #expect(reset.status != 0, "curl accepted a truncated response")
            let cut = await eventually(timeout: .seconds(5)) {
                mesh.servers[0].metricValue("lattice_http_errors_total", [#"reason="upstream_reset_mid_response""#]) == 1
            }
            #expect(cut)
            // The proxy is still fine afterwards.
            #expect(try Curl.request("\(mesh.outbound)/name").status == 200)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrderThenTheHalfClosedConnectionCloses() async throws {
        try await HTTPMesh.with(version: .http1) { mesh in
            // Three requests in one write (one with a body), then the client half-closes: each is answered, in order,
            // and then the proxy closes.
            let payload = Array(
                ("GET /status/201 HTTP/1.1\r\nHost: api\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: api\r\nContent-Length: 9\r\n\r\npipelined"
                    + "GET /status/202 HTTP/1.1\r\nHost: api\r\n\r\n").utf8
            )
            let reply = LoopbackTCP.exchange(port: mesh.outboundPort, payload: payload).map { String(decoding: $0, as: UTF8.self) } ?? ""
            // Bodies don't end in a line break: the status lines are found wherever they start.
            let statuses = reply.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
            #expect(statuses == ["201", "200", "202"], "\(reply)")
            #expect(reply.contains("pipelined"), "\(reply)")
            #expect(mesh.client.metricValue("request_total", [#"direction="outbound""#]) == 3)
        }
    }

    @Test func aMalformedPipelinedRequestIsRefusedOnlyAfterTheRequestsBeforeItAreAnswered() async throws {
        try await HTTPMesh.with(version: .http1) { mesh in
            // A good request and a bad one in one write: the good one's answer comes first, then the 400, then the
            // close. (The 400 used to go out at once, where the client read it as the first request's answer.)
            let payload = Array(("GET /status/201 HTTP/1.1\r\nHost: api\r\n\r\n" + "this is not a request\r\n\r\n").utf8)
            let reply = LoopbackTCP.exchange(port: mesh.outboundPort, payload: payload).map { String(decoding: $0, as: UTF8.self) } ?? ""
            let statuses = reply.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
            #expect(statuses == ["201", "400"], "\(reply)")
        }
    }

    @Test func onShutdownAnIdleKeepAliveConnectionIsClosedAtOnce() async throws {
        // A drain period far longer than the test waits: the connection must be closed by the shutdown itself.
        try await HTTPMesh.with(version: .http1, clientEnvironment: ["LATTICE_PROXY_SHUTDOWN_GRACE_PERIOD": "120s"]) { mesh in
            let request = Array("GET /name HTTP/1.1\r\nHost: api\r\n\r\n".utf8)
            let fd = try #require(LoopbackTCP.open(port: mesh.outboundPort, sending: request, receiveTimeout: 30))
            defer { close(fd) }
            try await Task.sleep(for: .seconds(1))
            mesh.client.process.terminate()  // SIGTERM
            // The answer (it names the app), then the close: before the fix the connection stayed open for the
            // whole drain period (here the 30 s receive timeout would have ended the wait).
            let (received, closed) = LoopbackTCP.readUntilClosed(fd)
            #expect(String(decoding: received, as: UTF8.self).contains("api-0"))
            #expect(closed, "the idle keep-alive connection stayed open through the shutdown")
        }
    }

    @Test func onShutdownAnHTTP2ClientGetsAGoAwayAndItsRequestInFlightIsAnswered() async throws {
        try await HTTPMesh.with(version: .http2, clientEnvironment: ["LATTICE_PROXY_SHUTDOWN_GRACE_PERIOD": "120s"]) { mesh in
            let nghttp = try #require(ProcessRunner.which("nghttp"), "nghttp (nghttp2-client) is not installed")
            // nghttp prints every frame (-v); the app answers after 6 s, so the request is in flight at the SIGTERM.
            let client = try BackgroundProcess(nghttp, ["-v", "\(mesh.outbound)/slow/6000"], logPath: "\(mesh.directory)/nghttp.log")
            defer { client.stop(grace: 1) }
            #expect(await eventually { client.log.contains("send HEADERS frame") }, "\(client.log)")
            mesh.client.process.terminate()  // SIGTERM
            #expect(await eventually(timeout: .seconds(30)) { !client.process.isRunning }, "nghttp still waiting: \(client.log)")
            let log = client.log
            // A GOAWAY that still allows every stream, a PING, then (on its answer) a GOAWAY naming the last stream
            // opened; the request in flight is answered, by the app, with nothing cut.
            let stream = try #require(log.firstMatch(of: /send HEADERS frame <[^>]*stream_id=([0-9]+)>/)?.output.1, "\(log)")
            #expect(log.contains("last_stream_id=2147483647,"), "\(log)")
            #expect(log.contains("recv PING frame"), "\(log)")
            #expect(log.contains("last_stream_id=\(stream),"), "\(log)")
            #expect(log.contains("api-0"), "\(log)")
            #expect(client.process.terminationStatus == 0, "\(log)")
        }
    }

    /// An HTTP/2 client that asks for 1 MiB with the default 64 KiB windows and then reads nothing, ever: the
    /// windows hold the rest back, so the proxy's socket never fills.
    static let silentHTTP2Client = #"""
        import socket, sys, time
        from h2raw import PREFACE, frame, get
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
        s.sendall(PREFACE + frame(4, 0, 0) + get(1, path=b"/big/1048576"))
        print("asked", flush=True)
        time.sleep(120)
        """#

    @Test func anHTTP2ClientThatStopsReadingBehindItsWindowsIsPingedAndEnded() async throws {
        let environment = ["LATTICE_PROXY_IDLE_TIMEOUT": "1s", "LATTICE_PROXY_SHUTDOWN_GRACE_PERIOD": "1s"]
        try await HTTPMesh.with(version: .http2, clientEnvironment: environment) { mesh in
            // The stalled-reader timeout can't see this client: nothing piles up in the proxy. The keep-alive PING
            // after 1 s of silence goes unanswered for 20 s (the floor left for slow readers); the connection is then
            // ended as on shutdown, and closed when the GOAWAY's PING goes unanswered too. It used to be held, with
            // its stream and the upstream's, for good.
            try RawHTTP2Client.install(in: mesh.directory)
            try TestFiles.write(Self.silentHTTP2Client, to: "\(mesh.directory)/silent.py")
            let client = try BackgroundProcess(
                "/usr/bin/python3", ["\(mesh.directory)/silent.py", "\(mesh.outboundPort)"],
                logPath: "\(mesh.directory)/silent.log"
            )
            defer { client.stop(grace: 1) }
            let counted = await eventually(timeout: .seconds(60), interval: .milliseconds(250)) {
                mesh.client.metricValue("lattice_http_errors_total", [#"reason="unresponsive_client""#]) == 1
            }
            #expect(counted, "not ended: \(client.log) \(mesh.client.metrics())")
            #expect(client.log.contains("asked"))
            // Counted once, under its reason: its unfinished stream is not a `client_closed` as well.
            #expect(mesh.client.metricValue("lattice_http_errors_total", [#"reason="client_closed""#]) == nil)
        }
    }

    @Test func hopByHopHeadersAndTheOnesConnectionNamesStopAtTheProxy() async throws {
        try await HTTPMesh.with(version: .http1) { mesh in
            // A client's `connection` names `x-hop` (any case, with spaces and an empty item) next to its options:
            // neither it nor the fixed hop-by-hop headers reach the app; every end-to-end header does.
            let response = try Curl.request("\(mesh.outbound)/headers", arguments: [
                "-H", "Connection: keep-alive, X-Hop ,, Upgrade", "-H", "X-Hop: 1", "-H", "Keep-Alive: timeout=5",
                "-H", "Proxy-Connection: keep-alive", "-H", "Upgrade: h2c", "-H", "X-Hoppity: 2", "-H", "X-End-To-End: 3",
            ])
            #expect(response.status == 200, "\(response)")
            let names = Set(response.body.split(separator: "\n").compactMap { $0.split(separator: ":").first?.lowercased() })
            for dropped in ["connection", "x-hop", "keep-alive", "proxy-connection", "upgrade"] {
                #expect(!names.contains(dropped), "\(dropped) reached the app: \(response.body)")
            }
            for kept in ["x-hoppity", "x-end-to-end", "host", "l5d-client-id"] {
                #expect(names.contains(kept), "\(kept) did not reach the app: \(response.body)")
            }
        }
    }

    @Test(arguments: [
        "Transfer-Encoding: Chunked\r\nConnection: close",
        "Transfer-Encoding: gzip, chunked\r\nConnection: close",
        "Transfer-Encoding: chunked\r\nConnection: close, transfer-encoding",
    ])
    func aChunkedBodyOnAGETStaysABodyAndNeverBecomesARequest(framing: String) async throws {
        try await HTTPMesh.with(version: .http1) { mesh in
            // The body, de-chunked by the proxy's decoder, is itself a request. It must reach the app as /echo's body
            // (re-chunked): sent on unframed, as NIO's request encoder did when `transfer-encoding` was not exactly
            // `chunked` (or `connection` had named it), the app read it as a second request of its own.
            let smuggled = "GET /name HTTP/1.1\r\nHost: api\r\n\r\n"
            let chunk = String(smuggled.utf8.count, radix: 16) + "\r\n" + smuggled + "\r\n0\r\n\r\n"
            let request = Array("GET /echo HTTP/1.1\r\nHost: api\r\n\(framing)\r\n\r\n\(chunk)".utf8)
            let fd = try #require(LoopbackTCP.open(port: mesh.outboundPort, sending: request, receiveTimeout: 20))
            defer { close(fd) }
            let (received, closed) = LoopbackTCP.readUntilClosed(fd)
            let text = String(decoding: received, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(text)")
            #expect(text.hasSuffix("\r\n\r\n" + smuggled), "the body did not reach the app whole: \(text)")
            #expect(text.components(separatedBy: "HTTP/1.1 ").count == 2, "more than one response: \(text)")
            #expect(closed)
        }
    }

    @Test func anUpgradeRequestIsAnsweredAndItsConnectionClosed() async throws {
        try await HTTPMesh.with(version: .http1) { mesh in
            // After an upgrade request (or CONNECT) the decoder reads nothing more: the proxy answers it (the upgrade
            // headers are hop-by-hop, so the app sees a plain GET) and closes, rather than leave a next request unread
            // until the idle timeout.
            let request = Array("GET /name HTTP/1.1\r\nHost: api\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n".utf8)
            let fd = try #require(LoopbackTCP.open(port: mesh.outboundPort, sending: request, receiveTimeout: 20))
            defer { close(fd) }
            let (received, closed) = LoopbackTCP.readUntilClosed(fd)
            let text = String(decoding: received, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n") && text.hasSuffix("api-0"), "\(text)")
            #expect(text.lowercased().contains("connection: close\r\n"), "\(text)")
            #expect(closed, "the connection stayed open after the upgrade request")
        }
    }

    @Test func aRequestRefusedAfterAPipelinedHEADIsAnsweredWithoutABody() async throws {
        try await HTTPMesh.with(version: .http1) { mesh in
            // A GET, then (in the same segment) a HEAD whose chunked body is malformed: the GET is answered, then the
            // HEAD gets a 400, which as an answer to HEAD carries no body, and the connection closes.
            let request = Array(
                ("GET /name HTTP/1.1\r\nHost: api\r\n\r\n"
                    + "HEAD /name HTTP/1.1\r\nHost: api\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").utf8
            )
            let fd = try #require(LoopbackTCP.open(port: mesh.outboundPort, sending: request, receiveTimeout: 20))
            defer { close(fd) }
            let (received, closed) = LoopbackTCP.readUntilClosed(fd)
            let text = String(decoding: received, as: UTF8.self)
            let parts = text.components(separatedBy: "HTTP/1.1 400 ")
            #expect(parts.count == 2 && parts[0].hasPrefix("HTTP/1.1 200 OK\r\n") && parts[0].hasSuffix("api-0"), "\(text)")
            #expect(parts.last?.hasSuffix("\r\n\r\n") == true, "the 400 answering HEAD carried a body: \(text)")
            #expect(closed)
        }
    }

    @Test func anHTTP2ConnectionThatNeverOpensAStreamIsEndedAfterTheIdleTimeout() async throws {
        let environment = ["LATTICE_PROXY_IDLE_TIMEOUT": "1s", "LATTICE_PROXY_SHUTDOWN_GRACE_PERIOD": "1s"]
        try await HTTPMesh.with(version: .http2, clientEnvironment: environment) { mesh in
            // The HTTP/2 preface and an empty SETTINGS, then silence (and no answer to the proxy's PING).
            let hello = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + [0, 0, 0, 4, 0, 0, 0, 0, 0]
            let fd = try #require(LoopbackTCP.open(port: mesh.outboundPort, sending: hello, receiveTimeout: 20))
            defer { close(fd) }
            let (received, closed) = LoopbackTCP.readUntilClosed(fd)
            // Frame types in order (each frame: 3 bytes of length, then its type).
            var types: [UInt8] = []
            var offset = 0
            while offset + 9 <= received.count {
                types.append(received[offset + 3])
                offset += 9 + (Int(received[offset]) << 16 | Int(received[offset + 1]) << 8 | Int(received[offset + 2]))
            }
            #expect(types.contains(7), "no GOAWAY among the frames \(types)")
            #expect(closed, "the unused HTTP/2 connection stayed open")
        }
    }

    @Test func aRequestOnAPooledConnectionTheAppJustClosedIsSentAgain() async throws {
        try await HTTPMesh.with(version: .http1) { mesh in
            // Two client connections in turn; the server's proxy reuses its pooled app connection for the second
            // request, which the app closes without answering. The proxy sends it again on a fresh connection.
            for body in ["first", "second with a body"] {
                let response = try Curl.request("\(mesh.outbound)/once-per-connection", arguments: ["--data-binary", body])
                #expect(response.status == 200, "\(response)")
            }
            #expect(mesh.servers[0].metricValue("lattice_http_errors_total", [#"reason="stale_connection_retried""#]) == 1)
        }
    }

    @Test func anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() async throws {
        try await HTTPMesh.with(version: .http1, clientEnvironment: ["LATTICE_PROXY_IDLE_TIMEOUT": "1s"]) { mesh in
            let request = Array("GET /name HTTP/1.1\r\nHost: api\r\n\r\n".utf8)
            let fd = try #require(LoopbackTCP.open(port: mesh.outboundPort, sending: request, receiveTimeout: 20))
            defer { close(fd) }
            // The response (it names the app), then nothing until the proxy closes the idle connection (or the 20 s
            // receive timeout: never closed).
            let (received, closed) = LoopbackTCP.readUntilClosed(fd)
            #expect(String(decoding: received, as: UTF8.self).contains("api-0"))
            #expect(closed, "the idle keep-alive connection stayed open")
        }
    }

    /// A client that reads slowly through a small receive buffer: `slow_reader.py PORT SIZE STALL` asks for SIZE
    /// bytes, reads nothing for STALL seconds, then takes at most 64 KiB every 50 ms until the proxy closes, and
    /// prints how many body bytes it got.
    static let slowReader = #"""
        import socket, sys, time
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.connect(("127.0.0.1", int(sys.argv[1])))
        s.sendall(b"GET /big/%d HTTP/1.1\r\nHost: api\r\n\r\n" % int(sys.argv[2]))
        time.sleep(float(sys.argv[3]))
        received = b""
        deadline = time.time() + 60
        while time.time() < deadline:
            chunk = s.recv(65536)
            if not chunk: break
            received += chunk
            time.sleep(0.05)
        print(len(received) - received.find(b"\r\n\r\n") - 4)
        """#

    @Test func aSlowReaderGetsTheWholeResponsePastTheIdleTimeoutAndAStalledOneIsClosed() async throws {
        try await HTTPMesh.with(version: .http1, clientEnvironment: ["LATTICE_PROXY_IDLE_TIMEOUT": "1s"]) { mesh in
            // 4 MiB at about 1 MiB/s: the response's end is queued in the proxy seconds before the reader has taken
            // it all (back-pressure holds at most the 512 KiB high-water mark there). The idle clock used to start at
            // that queueing and close the connection a second later, dropping what was still queued.
            try TestFiles.write(Self.slowReader, to: "\(mesh.directory)/slow_reader.py")
            let size = 4 << 20
            let script = "\(mesh.directory)/slow_reader.py"
            let result = try ProcessRunner.run("/usr/bin/python3", [script, "\(mesh.outboundPort)", "\(size)", "0"])
            #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(size)", "\(result.stdout) \(result.stderr)")
            #expect(mesh.client.metricValue("lattice_http_errors_total", [#"reason="slow_reader""#]) == nil)
            // A reader that stops for 4 s in the middle of 32 MiB (so much that the end is never queued: back-pressure
            // holds the upstream) is closed after two idle periods without progress, and counted once (not also as
            // `client_closed`). The connection and its upstream used to be held for as long as the client liked.
            let big = 32 << 20
            let stalled = try ProcessRunner.run("/usr/bin/python3", [script, "\(mesh.outboundPort)", "\(big)", "4"])
            #expect((Int(stalled.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? big) < big, "\(stalled.stdout)")
            #expect(mesh.client.metricValue("lattice_http_errors_total", [#"reason="slow_reader""#]) == 1)
            #expect(mesh.client.metricValue("lattice_http_errors_total", [#"reason="client_closed""#]) == nil)
        }
    }

    /// The slow reader over HTTP/2 (prior knowledge): it grants the stream and the connection 1 GiB of window, so
    /// flow control never holds the response, asks for SIZE bytes on stream 1, reads nothing for STALL seconds, then
    /// takes at most 64 KiB every 50 ms until the stream ends or the proxy closes (or resets) the connection, and prints
    /// the body bytes it got.
    static let slowHTTP2Reader = #"""
        import socket, sys, time
        from h2raw import PREFACE, frame, get, take_frames, acknowledge
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.connect(("127.0.0.1", int(sys.argv[1])))
        window = (1 << 30).to_bytes(4, "big")
        s.sendall(PREFACE + frame(4, 0, 0, b"\x00\x04" + window) + frame(8, 0, 0, window)
                  + get(1, path=b"/big/%d" % int(sys.argv[2])))
        time.sleep(float(sys.argv[3]))
        buf, received, ended = b"", 0, False
        deadline = time.time() + 60
        while time.time() < deadline and not ended:
            try: chunk = s.recv(65536)
            except ConnectionResetError: break
            if not chunk: break
            frames, buf = take_frames(buf + chunk)
            for kind, flags, stream, payload in frames:
                acknowledge(s, kind, flags, payload)
                if kind == 0 and stream == 1: received += len(payload)
                if kind in (0, 1) and stream == 1 and flags & 1: ended = True
                if kind == 3 and stream == 1: ended = True
            time.sleep(0.05)
        print(received)
        """#

    @Test func anHTTP2ClientThatStopsReadingItsConnectionIsClosedAndASlowOneGetsItAll() async throws {
        try await HTTPMesh.with(version: .http2, clientEnvironment: ["LATTICE_PROXY_IDLE_TIMEOUT": "1s"]) { mesh in
            try RawHTTP2Client.install(in: mesh.directory)
            try TestFiles.write(Self.slowHTTP2Reader, to: "\(mesh.directory)/slow_h2_reader.py")
            let script = "\(mesh.directory)/slow_h2_reader.py"
            // 4 MiB at about 1 MiB/s, slower than the 1 s idle timeout would allow if it were a stall: all of it.
            let size = 4 << 20
            let result = try ProcessRunner.run("/usr/bin/python3", [script, "\(mesh.outboundPort)", "\(size)", "0"])
            #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(size)", "\(result.stdout) \(result.stderr)")
            #expect(mesh.client.metricValue("lattice_http_errors_total", [#"reason="slow_reader""#]) == nil)
            // A client that reads nothing for 4 s in the middle of 32 MiB (its windows open, so only the socket holds
            // the response back) is closed after two idle periods without progress, and counted. It used to hold the
            // connection, its stream and the upstream's for as long as it liked.
            let big = 32 << 20
            let stalled = try ProcessRunner.run("/usr/bin/python3", [script, "\(mesh.outboundPort)", "\(big)", "4"])
            #expect((Int(stalled.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? big) < big, "\(stalled.stdout) \(stalled.stderr)")
            #expect(mesh.client.metricValue("lattice_http_errors_total", [#"reason="slow_reader""#]) == 1)
            #expect(mesh.client.metricValue("lattice_http_errors_total", [#"reason="client_closed""#]) == nil)
            #expect(mesh.client.metricValue("lattice_http_errors_total", [#"reason="client_error""#]) == nil)
        }
    }

    @Test func aClientTricklingItsHeadersIsCutOff() async throws {
        try await HTTPMesh.with(version: .http1, clientEnvironment: ["LATTICE_PROXY_HEADER_READ_TIMEOUT": "1s"]) { mesh in
            let fd = try #require(LoopbackTCP.open(port: mesh.outboundPort))
            defer { close(fd) }
            LoopbackTCP.setReceiveTimeout(fd, seconds: 0.3)
            // A request line, then one byte of header every 300 ms (never idle, never done), for up to 15 s.
            let start = Array("GET /name HTTP/1.1\r\nHost: api\r\n".utf8)
            _ = start.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            var cut = false
            var byte: [UInt8] = [UInt8(ascii: "x")]
            var scratch = [UInt8](repeating: 0, count: 256)
            for _ in 0..<50 {
                if byte.withUnsafeBytes({ send(fd, $0.baseAddress, 1, Int32(MSG_NOSIGNAL)) }) < 0 { cut = true; break }
                let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n == 0 { cut = true; break }  // closed by the proxy
                byte[0] = UInt8(ascii: "x")
            }
            #expect(cut, "a client trickling its headers for 15 s was never cut off")
            #expect(mesh.client.metricValue("lattice_http_errors_total", [#"reason="header_read_timeout""#]) == 1)
            // An ordinary request is not affected.
            #expect(try Curl.request("\(mesh.outbound)/name").status == 200)
        }
    }

    @Test func anUnreachableUpstreamGets502NamingTheReason() async throws {
        try await TestFiles.withDirectory { dir in
            try ControllerProcess.makeRunbookCertificates(in: dir)
            let controller = try await ControllerProcess(directory: dir)
            defer { controller.stop() }
            let outboundPort = try LoopbackTCP.freePort()
            let nobody = try LoopbackTCP.freePort()
            let client = try ProxyProcess(
                directory: dir, name: "web", serviceAccount: "web", token: "web-token", controllerPort: controller.identityPort,
                upstreams: ["127.0.0.1:\(outboundPort)=127.0.0.1:\(nobody)"]
            )
            defer { client.stop() }
            try await client.waitUntilReady()
            let response = try Curl.request("http://127.0.0.1:\(outboundPort)/name")
            #expect(response.status == 502)
            #expect(response.headers["lattice-proxy-error"] == "connect_failed", "\(response.headers)")
            #expect(client.metricValue("request_total", [#"tls="no_identity""#, #"no_tls_reason="not_provided_by_service_discovery""#]) == 1)
        }
    }
}
