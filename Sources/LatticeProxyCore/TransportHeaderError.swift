/// Why a ``TransportHeader`` could not be read.
///
/// A struct over a private code rather than a public enum, so that codes can be added without breaking callers;
/// compare against the static constants. Two errors are equal when their codes are.
public struct TransportHeaderError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case badMagic
        case unknownProtocolHint
        case nameTooLong
        case invalidName
        case invalidPort
        case headerTooLong
        case truncated
    }

    private let code: Code

    private init(_ code: Code) {
        self.code = code
    }

    /// The stream does not start with the magic `LTTHDR1\n`.
    public static let badMagic = Self(.badMagic)

    /// The protocol hint byte is not one of the known ``TransportHeader/ProtocolHint`` values.
    public static let unknownProtocolHint = Self(.unknownProtocolHint)

    /// The name length field exceeds ``TransportHeader/maxNameLength``.
    public static let nameTooLong = Self(.nameTooLong)

    /// The name is not valid UTF-8.
    public static let invalidName = Self(.invalidName)

    /// The target port is 0.
    public static let invalidPort = Self(.invalidPort)

    /// ``TransportHeaderDecoder`` buffered its byte limit without completing a header.
    public static let headerTooLong = Self(.headerTooLong)

    /// The peer closed its side of the stream in the middle of a header.
    public static let truncated = Self(.truncated)

    public var description: String {
        switch self.code {
        case .badMagic:
            return "TransportHeaderError.badMagic: the stream does not start with the transport header magic"
        case .unknownProtocolHint:
            return "TransportHeaderError.unknownProtocolHint: the protocol hint is not 0, 1 or 2"
        case .nameTooLong:
            return "TransportHeaderError.nameTooLong: the name is longer than \(TransportHeader.maxNameLength) bytes"
        case .invalidName:
            return "TransportHeaderError.invalidName: the name is not valid UTF-8"
        case .invalidPort:
            return "TransportHeaderError.invalidPort: the target port is 0"
        case .headerTooLong:
            return "TransportHeaderError.headerTooLong: no complete header within the byte limit"
        case .truncated:
            return "TransportHeaderError.truncated: the stream ended inside the header"
        }
    }
}
