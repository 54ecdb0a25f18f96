/// The protocol a connection was found to speak, judged from its first bytes.
///
/// Detection only ever looks at what the client sends first, so it is a hint for choosing how to proxy the
/// connection, not a promise about the rest of the stream.
public enum DetectedProtocol: Equatable, Sendable {
    /// A TLS ClientHello.
    ///
    /// `serverName` is the `host_name` of the server_name (SNI) extension exactly as the client sent it (not
    /// lowercased), or `nil` when the ClientHello carries none, carries one that is not a printable ASCII host name,
    /// or could not be parsed.
    case tls(serverName: String?)

    /// An HTTP/1.x request line.
    case http1

    /// The HTTP/2 prior-knowledge connection preface (`PRI * HTTP/2.0…`).
    case http2

    /// Anything else: proxied as an opaque byte stream.
    case opaque
}

/// The answer of ``ProtocolDetector/detect(_:)`` for the bytes seen so far.
public enum DetectionResult: Equatable, Sendable {
    /// The protocol is known; more bytes would not change the answer.
    case detected(DetectedProtocol)

    /// The bytes so far are a prefix of something recognisable: read more and ask again.
    case needMoreData
}
