import LatticeProxyCore

/// The HTTP version a connection speaks; requests keep it end to end (an HTTP/2 client gets an HTTP/2 upstream,
/// which gRPC needs for its trailers).
enum HTTPKind: String, Sendable {
    case http1
    case http2

    var transportHint: TransportHeader.ProtocolHint {
        switch self {
        case .http1: .http1
        case .http2: .http2
        }
    }
}
