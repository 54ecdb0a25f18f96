import LatticeAdmin
import LatticeModel
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A listening socket as a `Service`: binds at `run()`, hands each accepted connection to `onAccept` (on the
/// connection's event loop, once it is active), and on graceful shutdown stops accepting, asks HTTP connections to
/// quiesce, then lets open connections drain for up to `drainTime` before returning.
final class ListenerServer: Service, Sendable {
    let name: String
    let address: HostPort
    /// The variable that chooses `address`, named when it can't be bound.
    let addressSetting: String
    let group: MultiThreadedEventLoopGroup
    let logger: Logger
    let drainTime: Duration
    let budget: ConnectionBudget
    let onRefused: @Sendable () -> Void
    let onAccept: @Sendable (any Channel) -> Void
    private let bound = Mutex<Int?>(nil)
    private let open = Atomic<Int>(0)
    /// The connections accepted and still open, so shutdown can ask them to quiesce.
    private let children = Mutex<[ObjectIdentifier: any Channel]>([:])

    init(
        name: String,
        address: HostPort,
        addressSetting: String,
        group: MultiThreadedEventLoopGroup,
        logger: Logger,
        drainTime: Duration = .zero,
        budget: ConnectionBudget,
        onRefused: @escaping @Sendable () -> Void = {},
        onAccept: @escaping @Sendable (any Channel) -> Void
    ) {
        self.name = name
        self.address = address
        self.addressSetting = addressSetting
        self.group = group
        self.logger = logger
        self.drainTime = drainTime
        self.budget = budget
        self.onRefused = onRefused
        self.onAccept = onAccept
    }

    var boundPort: Int? { self.bound.withLock { $0 } }

    func run() async throws {
        let onAccept = self.onAccept
        let bootstrap = ServerBootstrap(group: self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.autoRead, value: false)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.recvAllocator, value: SpliceBuffers.receiveAllocator)
            .childChannelOption(.writeBufferWaterMark, value: SpliceBuffers.writeWaterMark)
            .childChannelInitializer { [self] channel in
                guard self.budget.tryAcquire() else {
                    self.onRefused()
                    return channel.close()
                }
                self.open.wrappingAdd(1, ordering: .relaxed)
                let id = ObjectIdentifier(channel)
                self.children.withLock { $0[id] = channel }
                channel.closeFuture.whenComplete { _ in
                    self.open.wrappingSubtract(1, ordering: .relaxed)
                    self.children.withLock { _ = $0.removeValue(forKey: id) }
                    self.budget.release()
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptedHandler(onAccept: onAccept))
                }
            }
        let server: any Channel
        do {
            server = try await bootstrap.bind(host: self.address.host, port: self.address.port).get()
        } catch {
            throw ListenError(
                listener: "the \(self.name) listener",
                address: "\(self.address.host):\(self.address.port)",
                setting: self.addressSetting,
                cause: error
            )
        }
        let port = server.localAddress?.port ?? self.address.port
        self.bound.withLock { $0 = port }
        self.logger.info("\(self.name) listening", metadata: ["net.local.addr": "\(self.address.host):\(port)"])
        try? await gracefulShutdown()
        try? await server.close()
        // HTTP connections finish the request in flight and close (HTTP/2 with a GOAWAY); idle ones close now.
        // Opaque TCP connections ignore the event and drain until the deadline.
        for channel in self.children.withLock({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        let deadline = ContinuousClock.now + self.drainTime
        // A cancelled task (the service group ending on another service's error) does not wait: its sleep would
        // return at once and the loop would spin.
        while self.open.load(ordering: .relaxed) > 0 && ContinuousClock.now < deadline && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(50))
        }
        self.logger.info("\(self.name) stopped", metadata: ["lattice.open_connections": "\(self.open.load(ordering: .relaxed))"])
    }
}

/// Calls `onAccept` once the accepted channel is active (never from the initializer: it isn't registered yet).
final class AcceptedHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    let onAccept: @Sendable (any Channel) -> Void

    init(onAccept: @escaping @Sendable (any Channel) -> Void) {
        self.onAccept = onAccept
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        let channel = context.channel
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        self.onAccept(channel)
    }
}

@available(*, unavailable)
extension AcceptedHandler: Sendable {}

/// A pause in the shutdown sequence: placed between the inbound listener and the outbound ones, it keeps the outbound
/// listeners accepting the app's calls for `wait` after inbound has stopped.
struct ShutdownWait: Service {
    let wait: Duration
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        guard self.wait > .zero else { return }
        self.logger.info("outbound listeners keep serving the app while it shuts down", metadata: ["lattice.wait": "\(self.wait)"])
        try? await Task.sleep(for: self.wait)
    }
}

/// Turns `/ready` to 503 as soon as shutdown starts (it is the group's last service, so it stops first), so nothing
/// takes a draining proxy for a ready one while its admin endpoint is still up.
struct DrainSignal: Service {
    let draining: DrainFlag

    func run() async throws {
        try? await gracefulShutdown()
        self.draining.set()
    }
}

final class DrainFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { self.value.load(ordering: .relaxed) }
    func set() { self.value.store(true, ordering: .relaxed) }
}
