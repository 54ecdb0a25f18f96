import GRPCCore
import LatticeAPI
import LatticeDiscovery
import Logging

/// `lattice.destination.v1.Destination/Get`: the answer for a target, then every change to it, until the proxy goes
/// away or the controller shuts down.
public struct DestinationGRPCService: Lattice_Destination_V1_Destination.SimpleServiceProtocol {
    /// This controller's minor version of the v1 API.
    public static let apiVersion: UInt32 = 1

    private let store: DiscoveryStore
    private let resolver: DestinationResolver
    private let metrics: DiscoveryMetrics
    private let streams: StreamCounter
    private let logger: Logger

    public init(store: DiscoveryStore, settings: DiscoverySettings, metrics: DiscoveryMetrics, logger: Logger) {
        self.store = store
        self.resolver = DestinationResolver(settings: settings)
        self.metrics = metrics
        self.streams = StreamCounter(gauge: metrics.destinationStreams)
        self.logger = logger
    }

    public func get(
        request: Lattice_Destination_V1_GetDestination,
        response: RPCWriter<Lattice_Destination_V1_Update>,
        context: ServerContext
    ) async throws {
        self.streams.opened()
        defer { self.streams.closed() }
        self.logger.debug("destination stream opened", metadata: ["target": "\(request.target)", "proxy": "\(request.proxyIdentity)"])
        try await untilRPCCancelled {
            try await self.store.forEachChange(of: { self.resolver.resolve(request.target, in: $0) }) { answer in
                try await response.write(Self.message(answer))
                self.metrics.destinationUpdates.increment()
            }
        }
    }

    static func message(_ answer: DestinationAnswer) -> Lattice_Destination_V1_Update {
        var update = Lattice_Destination_V1_Update()
        update.apiVersion = Self.apiVersion
        switch answer {
        case .notMeshed:
            update.notMeshed = .init()
        case .endpoints(let authority, let endpoints):
            var set = Lattice_Destination_V1_Endpoints()
            set.authority = authority
            set.endpoints = endpoints.map { endpoint in
                var message = Lattice_Destination_V1_Endpoint()
                message.address = endpoint.address.description
                message.identity = endpoint.identity ?? ""
                message.workload = endpoint.workload ?? ""
                message.protocolHint.opaque = endpoint.isOpaque
                message.protocolHint.http2 = endpoint.acceptsHTTP2
                message.protocolHint.transportPort = UInt32(endpoint.proxyInboundPort ?? 0)
                return message
            }
            update.endpoints = set
        }
        return update
    }
}
