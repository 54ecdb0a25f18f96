import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LatticeAPI
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// `lattice sample-app`: the demo's three workloads, small real servers that call each other through their proxies:
/// an HTTP/1.1 web front end → a gRPC inventory service → a TCP key-value store.
struct SampleAppCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample-app",
        abstract: "The demo's sample workloads (started by `lattice demo`).",
        shouldDisplay: false,
        subcommands: [Web.self, API.self, Store.self]
    )

    /// The TCP store: `GET KEY\n` → `VALUE KEY COUNT\n` (the count of lookups of KEY so far).
    struct Store: AsyncParsableCommand {
        @Option(help: "Listen address.") var listen: String = "127.0.0.1:7000"

        func run() async throws {
            let address = try SampleApp.address(self.listen, flag: "--listen")
            let counts = StoreCounts()
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(StoreHandler(counts: counts))
                    }
                }
                .bind(host: address.host, port: address.port)
                .get()
            SampleApp.announce("store", channel)
            try await channel.closeFuture.get()
        }
    }

    /// The gRPC inventory service: asks the store (through its proxy's outbound port) for an item's count.
    struct API: AsyncParsableCommand {
        @Option(help: "Listen address (gRPC, plaintext: the proxy adds mTLS).") var listen: String = "127.0.0.1:9090"
        @Option(help: "The store, as this workload reaches it (its proxy's outbound port).") var store: String
        @Option(help: "This instance's name, returned in every reply.") var name: String = "api"

        func run() async throws {
            let address = try SampleApp.address(self.listen, flag: "--listen")
            let store = try SampleApp.address(self.store, flag: "--store")
            let transport = HTTP2ServerTransport.Posix(
                address: .ipv4(host: address.host, port: address.port),
                transportSecurity: .plaintext
            )
            let server = GRPCServer(transport: transport, services: [InventoryService(store: store, name: self.name)])
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                if let bound = try await transport.listeningAddress.ipv4 {
                    print("api listening on \(bound.host):\(bound.port)")
                }
            }
        }
    }

    /// The web front end: `GET /item/NAME` asks the inventory service (gRPC, through the proxy) and answers JSON.
    struct Web: AsyncParsableCommand {
        @Option(help: "Listen address (HTTP/1.1).") var listen: String = "127.0.0.1:8080"
        @Option(help: "The inventory service, as this workload reaches it (its proxy's outbound port).") var api: String

        func run() async throws {
            let address = try SampleApp.address(self.listen, flag: "--listen")
            let api = try SampleApp.address(self.api, flag: "--api")
            let transport = try HTTP2ClientTransport.Posix(
                target: .ipv4(address: api.host, port: api.port),
                transportSecurity: .plaintext
            )
            try await withGRPCClient(transport: transport) { client in
                let inventory = Lattice_Demo_V1_Inventory.Client(wrapping: client)
                let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .bind(host: address.host, port: address.port) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                            return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                        }
                    }
                print("web listening on \(server.channel.localAddress.map { "\($0)" } ?? "?")")
                try await withThrowingDiscardingTaskGroup { group in
                    try await server.executeThenClose { connections in
                        for try await connection in connections {
                            group.addTask { await WebFrontEnd.serve(connection, inventory: inventory) }
                        }
                    }
                }
            }
        }
    }
}

enum SampleApp {
    static func address(_ text: String, flag: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
            throw ValidationError("\(flag) '\(text)' is not HOST:PORT")
        }
        return (String(text[..<colon]), port)
    }

    static func announce(_ name: String, _ channel: any Channel) {
        print("\(name) listening on \(channel.localAddress.map { "\($0)" } ?? "?")")
    }
}

/// The store's counts, shared by its connections.
final class StoreCounts: Sendable {
    private let counts = Mutex<[String: Int64]>([:])
    func next(_ key: String) -> Int64 {
        self.counts.withLock { counts in
            counts[key, default: 0] += 1
            return counts[key]!
        }
    }
}

final class StoreHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let counts: StoreCounts
    private var line: [UInt8] = []

    init(counts: StoreCounts) { self.counts = counts }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = Self.unwrapInboundIn(data)
        while let byte = buffer.readInteger(as: UInt8.self) {
            if byte != UInt8(ascii: "\n") {
                if self.line.count < 1024 { self.line.append(byte) }
                continue
            }
            let text = String(decoding: self.line, as: UTF8.self)
            self.line.removeAll(keepingCapacity: true)
            let reply: String
            if text.hasPrefix("GET "), !text.dropFirst(4).isEmpty {
                let key = String(text.dropFirst(4))
                reply = "VALUE \(key) \(self.counts.next(key))\n"
            } else {
                reply = "ERROR expected GET KEY\n"
            }
            context.write(Self.wrapOutboundOut(context.channel.allocator.buffer(string: reply)), promise: nil)
        }
        context.flush()
    }
}

/// `Inventory/Lookup`: one store query per call, through the proxy (opaque TCP over mTLS).
struct InventoryService: Lattice_Demo_V1_Inventory.SimpleServiceProtocol {
    let store: LineClient
    let name: String

    init(store: (host: String, port: Int), name: String) {
        self.store = LineClient(host: store.host, port: store.port)
        self.name = name
    }

    func lookup(request: Lattice_Demo_V1_LookupRequest, context: ServerContext) async throws -> Lattice_Demo_V1_LookupReply {
        let item = request.item.filter { $0.isLetter || $0.isNumber || $0 == "-" }
        guard !item.isEmpty else { throw RPCError(code: .invalidArgument, message: "item must be letters, digits or '-'") }
        let answer: String
        do {
            answer = try await self.store.query("GET \(item)")
        } catch {
            throw RPCError(code: .unavailable, message: "store unreachable: \(error)")
        }
        let parts = answer.split(separator: " ")
        guard parts.count == 3, parts[0] == "VALUE", let count = Int64(parts[2]) else {
            throw RPCError(code: .internalError, message: "store answered '\(answer)'")
        }
        var reply = Lattice_Demo_V1_LookupReply()
        reply.item = item
        reply.count = count
        reply.servedBy = self.name
        return reply
    }
}

/// Sends one line over TCP and reads one line back, on connections kept open between queries (a mesh user's app
/// pools its database connections; a fresh TCP+mTLS handshake per query would dominate the demo's latency).
actor LineClient {
    private let host: String
    private let port: Int
    private var idle: [any Channel] = []

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    func query(_ line: String) async throws -> String {
        let channel: any Channel
        if let reused = self.idle.popLast(), reused.isActive {
            channel = reused
        } else {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(2))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(LineReplyHandler()) }
                }
                .connect(host: self.host, port: self.port)
                .get()
        }
        let promise = channel.eventLoop.makePromise(of: String.self)
        channel.eventLoop.execute {
            guard let handler = try? channel.pipeline.syncOperations.handler(type: LineReplyHandler.self) else {
                promise.fail(LineClientError())
                return
            }
            handler.promise = promise
            let timeout = channel.eventLoop.scheduleTask(in: .seconds(5)) {
                promise.fail(LineClientError())
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timeout.cancel() }
            channel.writeAndFlush(ByteBuffer(string: line + "\n"), promise: nil)
        }
        do {
            let reply = try await promise.futureResult.get()
            if self.idle.count < 16 { self.idle.append(channel) } else { channel.close(promise: nil) }
            return reply
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }
}

/// Completes the query in flight with the next line received.
final class LineReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    var promise: EventLoopPromise<String>?
    private var received: [UInt8] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = Self.unwrapInboundIn(data)
        self.received += buffer.readBytes(length: buffer.readableBytes) ?? []
        while let newline = self.received.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: self.received[..<newline], as: UTF8.self)
            self.received.removeFirst(newline + 1)
            self.promise?.succeed(line)
            self.promise = nil
        }
        if self.received.count > 4096 { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.promise?.fail(LineClientError())
        self.promise = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.promise?.fail(error)
        self.promise = nil
        context.close(promise: nil)
    }
}

struct LineClientError: Error, CustomStringConvertible {
    var description: String { "the store connection closed or timed out before a whole line came back" }
}

/// The web front end's request handling.
enum WebFrontEnd {
    static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
        inventory: Lattice_Demo_V1_Inventory.Client<HTTP2ClientTransport.Posix>
    ) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            for try await part in inbound {
                switch part {
                case .head(let h): head = h
                case .body: break
                case .end:
                    guard let request = head else { continue }
                    let (status, body) = await self.answer(request, inventory: inventory)
                    var headers = HTTPHeaders([("content-type", "application/json"), ("content-length", "\(body.utf8.count)")])
                    if !request.isKeepAlive { headers.add(name: "connection", value: "close") }
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
                    try await outbound.write(.end(nil))
                    if !request.isKeepAlive { return }
                }
            }
        }
    }

    static func answer(
        _ request: HTTPRequestHead,
        inventory: Lattice_Demo_V1_Inventory.Client<HTTP2ClientTransport.Posix>
    ) async -> (HTTPResponseStatus, String) {
        let path = request.uri.split(separator: "?").first.map(String.init) ?? request.uri
        if path == "/healthz" { return (.ok, "{\"ok\":true}") }
        guard path.hasPrefix("/item/") else { return (.notFound, "{\"error\":\"try GET /item/NAME\"}") }
        var lookup = Lattice_Demo_V1_LookupRequest()
        lookup.item = String(path.dropFirst("/item/".count))
        do {
            let reply = try await inventory.lookup(lookup)
            let caller = request.headers.first(name: "l5d-client-id") ?? ""
            return (.ok, "{\"item\":\"\(reply.item)\",\"count\":\(reply.count),\"served_by\":\"\(reply.servedBy)\",\"caller\":\"\(caller)\"}")
        } catch let error as RPCError {
            return (.badGateway, "{\"error\":\"inventory: \(error.code) \(error.message.replacingOccurrences(of: "\"", with: "'"))\"}")
        } catch {
            return (.badGateway, "{\"error\":\"inventory unreachable\"}")
        }
    }
}
