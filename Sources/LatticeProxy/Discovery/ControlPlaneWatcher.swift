import LatticeModel
import Logging
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// Keeps the proxy's destination and policy streams open on one HTTP/2 TLS connection to the controller (which must
/// present its mesh identity), reconnecting with a capped backoff when it goes away. While it is away every watch
/// keeps its last answer: the proxy goes on serving what it last knew. Watches may be added while it runs (a
/// transparent proxy learns its destinations as the app dials them) and removed (a destination no longer used);
/// each is reopened on every reconnection.
final class ControlPlaneWatcher: Service, Sendable {
    /// One stream to keep open.
    struct Watch: Sendable {
        var name: String
        var path: String
        var request: [UInt8]
        /// Called on the connection's event loop with each message; a message it cannot use throws (logged, the
        /// last good answer stays).
        var onMessage: @Sendable (ArraySlice<UInt8>) throws -> Void
    }

    private struct Connected {
        let channel: any Channel
        let multiplexer: NIOLoopBound<HTTP2StreamMultiplexer>
    }

    /// A watch's handle, for ``remove(_:)``.
    typealias WatchID = UInt64

    private struct State {
        var watches: [WatchID: Watch]
        var nextID: WatchID
        var connected: Connected?
        /// The open stream of each watch on the current connection.
        var streams: [WatchID: any Channel] = [:]
    }

    private let address: HostPort
    private let serverName: String
    private let anchorsFile: String
    private let state: Mutex<State>
    private let wake: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)
    private let group: any EventLoopGroup
    private let connectTimeout: TimeAmount
    private let metrics: ProxyMetrics
    private let logger: Logger

    init(
        address: HostPort,
        serverName: String,
        anchorsFile: String,
        watches: [Watch],
        group: any EventLoopGroup,
        connectTimeout: TimeAmount,
        metrics: ProxyMetrics,
        logger: Logger
    ) {
        self.address = address
        self.serverName = serverName
        self.anchorsFile = anchorsFile
        var initial: [WatchID: Watch] = [:]
        for (index, watch) in watches.enumerated() { initial[WatchID(index)] = watch }
        self.state = Mutex(State(watches: initial, nextID: WatchID(watches.count), connected: nil))
        self.wake = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.group = group
        self.connectTimeout = connectTimeout
        self.metrics = metrics
        self.logger = logger
    }

    /// Adds a watch: opened at once when connected, and on every reconnection.
    @discardableResult
    func add(_ watch: Watch) -> WatchID {
        let (id, connected) = self.state.withLock { state -> (WatchID, Connected?) in
            let id = state.nextID
            state.nextID += 1
            state.watches[id] = watch
            return (id, state.connected)
        }
        self.wake.continuation.yield()
        if let connected {
            connected.channel.eventLoop.execute {
                _ = self.open(id, watch, on: connected.multiplexer.value, channel: connected.channel)
            }
        }
        return id
    }

    /// Stops watching: the streams close (the controller forgets them) and are not reopened.
    func remove(_ ids: [WatchID]) {
        let streams = self.state.withLock { state -> [any Channel] in
            ids.compactMap { id in
                state.watches[id] = nil
                return state.streams.removeValue(forKey: id)
            }
        }
        for stream in streams { stream.close(promise: nil) }
    }

    /// The number of watches kept (for tests and metrics).
    var watchCount: Int { self.state.withLock { $0.watches.count } }

    func run() async throws {
        let connected = self.metrics.discoveryConnected
        var backoff: Duration = .milliseconds(100)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // Nothing to watch (yet): no connection either, and the service must not end (that would stop the proxy).
            if self.state.withLock({ $0.watches.isEmpty }) {
                let stream = self.wake.stream
                let woken: Bool = await cancelWhenGracefulShutdown {
                    for await _ in stream { return true }
                    return false
                }
                if !woken { return }
                continue
            }
            let started = ContinuousClock.now
            do {
                let channel = try await self.connect()
                connected.set(1)
                self.logger.info("discovery streams open", metadata: ["controller": "\(self.address)"])
                await withTaskCancellationHandler {
                    await withGracefulShutdownHandler {
                        try? await channel.closeFuture.get()
                    } onGracefulShutdown: {
                        channel.close(promise: nil)
                    }
                } onCancel: {
                    channel.close(promise: nil)
                }
                self.state.withLock { $0.connected = nil }
                connected.set(0)
                self.logger.info("discovery connection ended; serving the last answers", metadata: ["controller": "\(self.address)"])
            } catch {
                connected.set(0)
                self.logger.info(
                    "cannot reach the controller's discovery API; serving the last answers",
                    metadata: ["controller": "\(self.address)", "error.type": "\(error)"]
                )
            }
            if ContinuousClock.now - started > .seconds(5) { backoff = .milliseconds(100) }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, .seconds(1))
        }
    }

    /// Connects, opens every stream, and returns the connection (closed when any stream ends, so all reopen).
    private func connect() async throws -> any Channel {
        let anchors = try NIOSSLCertificate.fromPEMFile(self.anchorsFile)
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv13
        tls.trustRoots = .certificates(anchors)
        tls.certificateVerification = .fullVerification
        tls.applicationProtocols = ["h2"]
        let context = try NIOSSLContext(configuration: tls)
        let serverName = self.serverName
        let channel = try await ClientBootstrap(group: self.group)
            .connectTimeout(self.connectTimeout)
            .channelInitializer { channel in
                HTTP2ClientPipeline.configure(channel, context: context, serverName: serverName)
            }
            .connect(host: self.address.host, port: self.address.port)
            .get()
        do {
            try await channel.pipeline.handler(type: HTTP2StreamMultiplexer.self).flatMap { multiplexer in
                // Registered and opened under the lock's view of the watches: one added meanwhile is either in this
                // list or opened by add() once `connected` is set, never both or neither.
                let watches = self.state.withLock { state -> [(WatchID, Watch)] in
                    state.connected = Connected(channel: channel, multiplexer: NIOLoopBound(multiplexer, eventLoop: channel.eventLoop))
                    state.streams = [:]
                    return state.watches.sorted { $0.key < $1.key }
                }
                let opened = watches.map { self.open($0.0, $0.1, on: multiplexer, channel: channel) }
                return EventLoopFuture.andAllSucceed(opened, on: channel.eventLoop)
            }.get()
        } catch {
            self.state.withLock { $0.connected = nil }
            try? await channel.close()
            throw error
        }
        return channel
    }

    /// Opens one watch's stream on the connection (on its event loop).
    private func open(_ id: WatchID, _ watch: Watch, on multiplexer: HTTP2StreamMultiplexer, channel: any Channel) -> EventLoopFuture<Void> {
        let authority = "\(self.serverName):\(self.address.port)"
        let logger = self.logger
        let updates = self.metrics.discoveryUpdates.cell(["api": watch.path.contains("Destination") ? "destination" : "policy"])
        return multiplexer.createStreamChannel { stream in
            stream.eventLoop.makeCompletedFuture {
                try stream.pipeline.syncOperations.addHandler(
                    StreamingCallHandler(
                        path: watch.path,
                        authority: authority,
                        request: watch.request,
                        onMessage: { message in
                            updates.add(1)
                            do {
                                try watch.onMessage(message)
                            } catch {
                                logger.warning(
                                    "discovery answer refused; keeping the last one",
                                    metadata: ["watch": "\(watch.name)", "error.type": "\(error)"]
                                )
                            }
                        },
                        onEnd: { reason in
                            // A stream closed by remove(): its watch is gone, nothing else is wrong.
                            guard self.state.withLock({ $0.watches[id] != nil }) else { return }
                            logger.debug("discovery stream ended", metadata: ["watch": "\(watch.name)", "reason": "\(reason)"])
                            // One stream gone means the controller is going or gone: reconnect them all.
                            channel.close(promise: nil)
                        }
                    )
                )
            }
        }.map { stream in
            // Removed while its stream was being opened: close it at once.
            let kept = self.state.withLock { state -> Bool in
                guard state.watches[id] != nil else { return false }
                state.streams[id] = stream
                return true
            }
            if !kept { stream.close(promise: nil) }
        }
    }
}
