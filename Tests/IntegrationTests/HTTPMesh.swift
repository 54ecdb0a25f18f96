import Foundation
import LatticeTestSupport
import Testing

/// A controller, `count` HTTP apps each behind its own server-side proxy, and one client-side proxy whose outbound
/// listener balances over all of them: app → proxy → mTLS → proxy → app, on loopback.
struct HTTPMesh {
    let directory: String
    let client: ProxyProcess
    let servers: [ProxyProcess]
    let apps: [HTTPTestServer]
    let outboundPort: Int

    var outbound: String { "http://127.0.0.1:\(self.outboundPort)" }

    static func with(
        version: HTTPTestServer.Version,
        count: Int = 1,
        serverPolicy: String = "all-unauthenticated",
        serverEnvironment: [String: String] = [:],
        clientEnvironment: [String: String] = [:],
        _ body: (HTTPMesh) async throws -> Void
    ) async throws {
        try await TestFiles.withDirectory { dir in
            try ControllerProcess.makeRunbookCertificates(in: dir)
            let controller = try await ControllerProcess(directory: dir)
            defer { controller.stop() }
            var apps: [HTTPTestServer] = []
            var servers: [ProxyProcess] = []
            defer { for server in servers { server.stop() } }
            for index in 0..<count {
                let app = try await HTTPTestServer(name: "api-\(index)", version: version)
                apps.append(app)
                servers.append(
                    try ProxyProcess(
                        directory: dir, name: "api-\(index)", serviceAccount: "db", token: "db-token",
                        controllerPort: controller.identityPort, inboundDefaultPort: app.port, policy: serverPolicy,
                        extraEnvironment: serverEnvironment
                    )
                )
            }
            let outboundPort = try LoopbackTCP.freePort()
            let endpoints = zip(servers, apps).map { server, app in "\(server.identity)@127.0.0.1:\(server.inboundPort)/\(app.port)" }
            let client = try ProxyProcess(
                directory: dir, name: "web", serviceAccount: "web", token: "web-token",
                controllerPort: controller.identityPort,
                upstreams: ["127.0.0.1:\(outboundPort)=\(endpoints.joined(separator: "|"));authority=api.default.svc.cluster.local:8080"],
                extraEnvironment: clientEnvironment
            )
            defer { client.stop() }
            for server in servers { try await server.waitUntilReady() }
            try await client.waitUntilReady()
            let mesh = HTTPMesh(directory: dir, client: client, servers: servers, apps: apps, outboundPort: outboundPort)
            do {
                try await body(mesh)
            } catch {
                for app in apps { await app.stop() }
                throw error
            }
            for app in apps { await app.stop() }
        }
    }
}

/// curl as the app's HTTP client.
enum Curl {
    struct Response {
        let status: Int
        let headers: [String: String]
        let body: String
        let exitCode: Int32
    }

    /// One request; `-i` output split into status, headers (lowercased names) and body.
    static func request(_ url: String, arguments: [String] = []) throws -> Response {
        let result = try ProcessRunner.run("/usr/bin/curl", ["-sS", "-i", "--max-time", "20"] + arguments + [url], timeout: 30)
        var status = 0
        var headers: [String: String] = [:]
        var body = ""
        if let split = result.stdout.range(of: "\r\n\r\n") {
            let headerLines = result.stdout[..<split.lowerBound].split(separator: "\r\n")
            if let first = headerLines.first { status = Int(first.split(separator: " ").dropFirst().first ?? "") ?? 0 }
            for line in headerLines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            body = String(result.stdout[split.upperBound...])
        }
        return Response(status: status, headers: headers, body: body, exitCode: result.status)
    }
}

extension ProxyProcess {
    /// The sum of the `/metrics` series of `name` whose line contains every one of `labels` (nil when none does).
    func metricValue(_ name: String, _ labels: [String] = []) -> Double? {
        let values = self.metrics().split(separator: "\n").filter { line in
            line.hasPrefix(name + "{") && labels.allSatisfy { line.contains($0) }
        }.compactMap { line in line.split(separator: " ").last.flatMap { Double($0) } }
        return values.isEmpty ? nil : values.reduce(0, +)
    }
}
