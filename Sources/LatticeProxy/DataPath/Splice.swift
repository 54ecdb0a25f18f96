import LatticeModel
import LatticeProxyCore
import NIOCore
import NIOPosix

/// Connects an accepted connection to its upstream and splices the two, counting bytes and the connection's life
/// into its metrics.
enum Splice {
    /// Puts the glue in place between `downstream` (which has a ``PendingDataHandler`` named "pending") and an
    /// already connected `upstream`, then releases what was pending. Runs on the shared event loop.
    static func join(
        downstream: any Channel,
        upstream: any Channel,
        metrics: ConnectionMetrics,
        peerIsUpstream: Bool
    ) throws {
        let observer = ByteCountingObserver(metrics: metrics, peerSide: peerIsUpstream ? .second : .first)
        let (down, up) = GlueHandler.matchedPair(observer: observer)
        try upstream.pipeline.syncOperations.addHandler(up)
        try downstream.pipeline.syncOperations.addHandler(down)
        let pending = try downstream.pipeline.syncOperations.context(name: "pending")
        downstream.pipeline.syncOperations.removeHandler(context: pending, promise: nil)
        // Until now nothing read on its own (autoRead off, so nothing was lost while connecting); from here the
        // glue's read gating provides back-pressure, driven by autoRead.
        try downstream.syncOptions?.setOption(.autoRead, value: true)
        try upstream.syncOptions?.setOption(.autoRead, value: true)
    }

    /// ``join(downstream:upstream:metrics:peerIsUpstream:)``, closing both and counting the close if that fails.
    static func joinOrClose(
        downstream: any Channel,
        upstream: any Channel,
        metrics: ConnectionMetrics,
        peerIsUpstream: Bool
    ) {
        do {
            try self.join(downstream: downstream, upstream: upstream, metrics: metrics, peerIsUpstream: peerIsUpstream)
        } catch {
            metrics.closed()
            upstream.close(promise: nil)
            downstream.close(promise: nil)
        }
    }

    /// A plain TCP connect on `eventLoop` with half-closure allowed and autoRead off (the glue drives reads).
    static func connect(
        to target: HostPort,
        on eventLoop: any EventLoop,
        timeout: TimeAmount,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void> = { $0.eventLoop.makeSucceededVoidFuture() }
    ) -> EventLoopFuture<any Channel> {
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.autoRead, value: false)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: SpliceBuffers.receiveAllocator)
            .channelOption(.writeBufferWaterMark, value: SpliceBuffers.writeWaterMark)
            .channelInitializer(initializer)
            .connect(host: target.host, port: target.port)
    }
}

/// Feeds a splice's byte counts into its connection's `tcp_read_bytes_total` (read from the peer the series is
/// about: the client inbound, the server outbound) and `tcp_write_bytes_total`: one atomic add per read.
final class ByteCountingObserver: SpliceObserver {
    let metrics: ConnectionMetrics
    let peerSide: SpliceSide
    private var isClosed = false

    init(metrics: ConnectionMetrics, peerSide: SpliceSide) {
        self.metrics = metrics
        self.peerSide = peerSide
    }

    func bytesRead(_ count: Int, side: SpliceSide) {
        if side == self.peerSide {
            self.metrics.read.add(Int64(count))
        } else {
            self.metrics.write.add(Int64(count))
        }
    }

    func closed() {
        guard !self.isClosed else { return }
        self.isClosed = true
        self.metrics.closed()
    }
}

/// Buffer sizes for spliced connections: reads grow to 64 KiB for bulk transfers (TLS records are 16 KiB, so one
/// read feeds several), and a side may hold up to 512 KiB unsent before the other stops reading.
enum SpliceBuffers {
    static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 2048, maximum: 65_536)
    static let writeWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 128 * 1024, high: 512 * 1024)
}
