import Foundation
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Plain TCP on loopback for tests: free ports, an echo server, and a blocking client that half-closes.
public enum LoopbackTCP {
    /// A port that was free a moment ago, chosen below the kernel's ephemeral range (32768+) so that no outgoing
    /// connection of a parallel test can take it before the process under test binds it, and never handed out
    /// twice in this test process: a port is often bound seconds after it is chosen (a controller started after its
    /// proxies), and a parallel test that drew the same number in between made that bind fail.
    public static func freePort() throws -> Int {
        for _ in 0..<200 {
            let candidate = Int.random(in: 20_000..<32_000)
            guard self.handedOut.withLock({ $0.insert(candidate).inserted }) else { continue }
            if self.canBind(candidate) { return candidate }
        }
        throw POSIXError(.EADDRINUSE)
    }

    private static let handedOut = Mutex<Set<Int>>([])

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return address
    }

    static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = self.loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return bound == 0
    }

    /// Opens a connection and returns its descriptor (the caller closes it), or nil.
    public static func open(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = self.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Opens a connection with a receive timeout and sends `payload` whole, keeping the connection open (the caller
    /// reads, then closes it); nil when it could not connect or send everything.
    public static func open(port: Int, sending payload: [UInt8], receiveTimeout: Double) -> Int32? {
        guard let fd = self.open(port: port) else { return nil }
        self.setReceiveTimeout(fd, seconds: receiveTimeout)
        guard payload.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == payload.count else {
            close(fd)
            return nil
        }
        return fd
    }

    /// Sends `payload`, half-closes, and reads until the peer closes (bounded by `timeout` seconds).
    /// Returns nil when the connection could not be made; the bytes read otherwise (possibly empty on refusal).
    public static func exchange(port: Int, payload: [UInt8], timeout: Double = 20) -> [UInt8]? {
        guard let fd = self.open(port: port) else { return nil }
        defer { close(fd) }
        self.setReceiveTimeout(fd, seconds: timeout)
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sent = 0
        while sent < payload.count {
            let n = payload[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        shutdown(fd, Int32(SHUT_WR))
        return self.readUntilClosed(fd).bytes
    }

    /// Bounds each `recv` on `fd` to `seconds`.
    public static func setReceiveTimeout(_ fd: Int32, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Reads until the peer closes (`closedByPeer`) or a read fails or times out.
    public static func readUntilClosed(_ fd: Int32) -> (bytes: [UInt8], closedByPeer: Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (received, true) }
            if n < 0 { return (received, false) }
            received += buffer[0..<n]
        }
    }
}

/// An echo server on loopback (NIO), that echoes until the client half-closes, then closes.
public final class EchoServer: Sendable {
    public let port: Int
    private let channel: any Channel

    public init(group: MultiThreadedEventLoopGroup = .singleton) async throws {
        self.channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(EchoHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        self.port = self.channel.localAddress?.port ?? 0
    }

    public func stop() async {
        try? await self.channel.close()
    }

    /// Runs `body` with a loopback port that another process holds (an echo server listening on it), closed after.
    public static func holdingAPort<T>(_ body: (Int) throws -> T) async throws -> T {
        let holder = try await EchoServer()
        let result: Result<T, any Error> = Result { try body(holder.port) }
        await holder.stop()
        return try result.get()
    }
}

final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            let channel = context.channel
            context.writeAndFlush(NIOAny(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension EchoHandler: Sendable {}

extension LoopbackTCP {
    /// Streams `totalBytes` to an echo service at `port` while reading the echo back concurrently (so neither side
    /// stalls the other), and returns the SHA-256 of what was sent and of what came back, and the bytes received.
    /// The data is a random 1 MiB block repeated; bounded by `timeout` seconds.
    public static func streamThroughEcho(port: Int, totalBytes: Int, timeout: Int = 300)
        -> (sent: [UInt8], received: [UInt8], receivedBytes: Int)?
    {
        guard let fd = self.open(port: port) else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var block = [UInt8](repeating: 0, count: 1 << 20)
        var generator = SystemRandomNumberGenerator()
        for i in stride(from: 0, to: block.count, by: 8) {
            withUnsafeBytes(of: generator.next() as UInt64) { raw in
                for j in 0..<8 { block[i + j] = raw[j] }
            }
        }
        let sendBlock = block
        let sentDigest = SendableBox<[UInt8]>([])
        let done = DispatchSemaphore(value: 0)
        let sender = Thread {
            var hasher = SHA256Hasher()
            var remaining = totalBytes
            while remaining > 0 {
                let chunk = min(remaining, sendBlock.count)
                var offset = 0
                while offset < chunk {
                    let n = sendBlock[offset..<chunk].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if n <= 0 { remaining = 0; break }
                    hasher.update(sendBlock[offset..<(offset + n)])
                    offset += n
                }
                remaining -= chunk
            }
            shutdown(fd, Int32(SHUT_WR))
            sentDigest.value = hasher.finish()
            done.signal()
        }
        sender.start()
        var hasher = SHA256Hasher()
        var received = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            hasher.update(buffer[0..<n])
            received += n
        }
        done.wait()
        return (sentDigest.value, hasher.finish(), received)
    }
}

/// A value shared between a test thread and the test, written once before a semaphore is signalled.
final class SendableBox<T>: @unchecked Sendable {
    // Written by one thread before `done.signal()`, read after `done.wait()`.
    var value: T
    init(_ value: T) { self.value = value }
}
