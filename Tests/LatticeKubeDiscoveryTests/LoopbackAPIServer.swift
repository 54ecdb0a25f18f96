#if canImport(Glibc)
import Foundation
import Glibc
import Synchronization

/// A tiny Kubernetes API server on 127.0.0.1 (port chosen by the kernel) over plain blocking sockets, one thread per
/// connection: enough HTTP/1.1 for a client's lists and watches (keep-alive, chunked watch responses), so the
/// backend can be tested over a real socket without the test target depending on a server framework.
///
/// Always use it through ``withLoopbackAPIServer(_:body:)``, which stops it even if the test fails.
final class LoopbackAPIServer: Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        var query: [String: String]
        /// Lower-cased names.
        var headers: [String: String]

        var isWatch: Bool { self.query["watch"] == "1" || self.query["watch"] == "true" }
    }

    enum Response: Sendable {
        /// A whole JSON body.
        case json(String, status: Int = 200)
        /// A watch: each line sent as its own chunk; then the response ends, or (`holdOpen`) stays open until the
        /// client goes away or the server stops.
        case watch(lines: [String], holdOpen: Bool)
    }

    typealias Handler = @Sendable (Request) -> Response

    private struct State {
        var listener: Int32
        var connections: Set<Int32> = []
        var requests: [Request] = []
        var isStopped = false
    }

    private let handler: Handler
    private let state: Mutex<State>
    let port: Int

    var url: String { "http://127.0.0.1:\(self.port)" }

    var requests: [Request] {
        self.state.withLock { $0.requests }
    }

    init(_ handler: @escaping Handler) throws {
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError(message: "socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw FixtureError(message: "bind/listen: \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.state = Mutex(State(listener: fd))
        Thread.detachNewThread { [self] in self.acceptLoop(fd) }
    }

    /// Closes the listener and every connection (which ends the threads blocked on them).
    func stop() {
        let fds: [Int32] = self.state.withLock { state in
            state.isStopped = true
            return [state.listener] + Array(state.connections)
        }
        for fd in fds { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop(_ listener: Int32) {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { break }
            let accepted = self.state.withLock { state in
                guard !state.isStopped else { return false }
                state.connections.insert(fd)
                return true
            }
            guard accepted else {
                close(fd)
                break
            }
            Thread.detachNewThread { [self] in
                self.serve(fd)
                self.state.withLock { _ = $0.connections.remove(fd) }
                close(fd)
            }
        }
        close(listener)
    }

    /// Serves requests on one connection until the client closes it (or a held-open watch ends).
    private func serve(_ fd: Int32) {
        var buffer: [UInt8] = []
        while let request = Self.readRequest(fd, buffer: &buffer) {
            self.state.withLock { $0.requests.append(request) }
            switch self.handler(request) {
            case .json(let body, let status):
                let bytes = Array(body.utf8)
                let head = "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Error")\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(bytes.count)\r\n\r\n"
                guard Self.sendAll(fd, Array(head.utf8) + bytes) else { return }
            case .watch(let lines, let holdOpen):
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                guard Self.sendAll(fd, Array(head.utf8)) else { return }
                for line in lines {
                    let bytes = Array((line + "\n").utf8)
                    guard Self.sendAll(fd, Array((String(bytes.count, radix: 16) + "\r\n").utf8) + bytes + Array("\r\n".utf8))
                    else { return }
                }
                if holdOpen {
                    // Wait for the client to go away (a cancelled watch) or the server to stop.
                    var byte: UInt8 = 0
                    _ = recv(fd, &byte, 1, 0)
                    return
                }
                guard Self.sendAll(fd, Array("0\r\n\r\n".utf8)) else { return }
            }
        }
    }

    private static func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    /// Reads one request head (the client sends GETs only: no body); nil when the connection ends.
    private static func readRequest(_ fd: Int32, buffer: inout [UInt8]) -> Request? {
        let separator = Array("\r\n\r\n".utf8)
        while true {
            if let end = buffer.firstRange(of: separator) {
                let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
                buffer.removeSubrange(..<end.upperBound)
                return self.parse(head)
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &chunk, chunk.count, 0)
            guard count > 0 else { return nil }
            buffer += chunk[..<count]
        }
    }

    private static func parse(_ head: String) -> Request? {
        let lines = head.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count == 3 else { return nil }
        let target = parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [String: String] = [:]
        if target.count == 2 {
            for pair in target[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let value = keyValue.count == 2 ? String(keyValue[1]).removingPercentEncoding ?? "" : ""
                query[String(keyValue[0])] = value
            }
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Request(method: String(parts[0]), path: String(target[0]), query: query, headers: headers)
    }
}

/// Runs `body` with a started loopback server and stops the server afterwards, whether `body` succeeded or not.
func withLoopbackAPIServer<Result>(
    _ handler: @escaping LoopbackAPIServer.Handler,
    body: (LoopbackAPIServer) async throws -> Result
) async throws -> Result {
    let server = try LoopbackAPIServer(handler)
    defer { server.stop() }
    return try await body(server)
}
#endif
