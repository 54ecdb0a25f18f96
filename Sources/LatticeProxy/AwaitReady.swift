#if canImport(Glibc)
import Glibc
#endif

/// `lattice-proxy await-ready`: blocks until this pod's proxy answers 200 on `/ready`, for the classic sidecar's
/// `postStart` hook (the kubelet starts the app's containers only after the hook returns, so the app never runs
/// before its proxy holds a certificate). No shell needed in the image: one blocking socket on loopback, polled every
/// 200 ms. Exit 0 when ready; 1 after the timeout (120 s, or `LATTICE_PROXY_AWAIT_READY_TIMEOUT` seconds), which
/// makes the kubelet restart the container.
enum AwaitReady {
    static func run(environment: [String: String]) -> Int32 {
        var port: UInt16 = 4191
        if let address = environment["LATTICE_PROXY_ADMIN_LISTEN_ADDR"], let colon = address.lastIndex(of: ":"),
            let p = UInt16(address[address.index(after: colon)...])
        {
            port = p
        }
        let seconds = environment["LATTICE_PROXY_AWAIT_READY_TIMEOUT"].flatMap { Int($0) } ?? 120
        let attempts = max(1, seconds * 5)
        for _ in 0..<attempts {
            if self.isReady(port: port) { return 0 }
            usleep(200_000)
        }
        let line = Array("lattice-proxy await-ready: /ready on 127.0.0.1:\(port) did not answer 200 within \(seconds) s\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        return 1
    }

    /// One `GET /ready` on loopback: true on a `200` status line.
    static func isReady(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        let request = Array("GET /ready HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return false }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 12 else { return false }
        // "HTTP/1.x 200"
        return buffer[9] == UInt8(ascii: "2") && buffer[10] == UInt8(ascii: "0") && buffer[11] == UInt8(ascii: "0")
    }
}
