import NIOCore

/// The header an outbound proxy writes first inside the mTLS stream when it dials a peer's proxy directly.
///
/// When the outbound proxy connects to the app's own address, iptables on the peer sends the connection to the
/// peer's inbound proxy, which learns the target port from `SO_ORIGINAL_DST`. When it dials the peer's proxy port
/// itself (local mode, VMs), nothing records the target, so the header names it; this way one inbound port serves
/// every app port. Linkerd calls the same idea a transport header.
///
/// Wire format, all integers big-endian (see `docs/transport-header.md`):
///
/// ```
/// offset  size  field
///      0     8  magic: ASCII "LTTHDR1\n" (4C 54 54 48 44 52 31 0A)
///      8     2  target port, u16, 1...65535
///     10     1  protocol hint, u8: 0 = opaque, 1 = http1, 2 = http2
///     11     1  reserved, u8: written as 0, ignored when read
///     12     2  name length N, u16, 0...255
///     14     N  name: UTF-8, the logical authority or service name; may be empty
/// ```
///
/// A header is therefore 14 to 269 bytes long. The application's bytes follow it directly.
public struct TransportHeader: Equatable, Sendable {
    /// How the inbound proxy should treat the stream after the header.
    public enum ProtocolHint: UInt8, Equatable, Sendable {
        /// Forward the bytes unchanged.
        case opaque = 0

        /// HTTP/1.x requests.
        case http1 = 1

        /// HTTP/2 with prior knowledge.
        case http2 = 2
    }

    /// The magic that starts every header: `LTTHDR1\n`.
    public static let magic: [UInt8] = Array("LTTHDR1\n".utf8)

    /// The most UTF-8 bytes a ``name`` may have.
    public static let maxNameLength = 255

    /// The length of the header without its name.
    public static let fixedLength = 14

    /// The application port on the peer the stream is meant for; never 0.
    public var port: UInt16

    /// How the stream after the header should be treated.
    public var protocolHint: ProtocolHint

    /// The logical authority or service name the client dialled; may be empty.
    public var name: String

    /// Creates a header.
    ///
    /// - Parameters:
    ///   - port: The target application port, 1...65535.
    ///   - protocolHint: How the stream after the header should be treated.
    ///   - name: The logical authority or service name, at most ``maxNameLength`` UTF-8 bytes.
    public init(port: UInt16, protocolHint: ProtocolHint, name: String = "") {
        self.port = port
        self.protocolHint = protocolHint
        self.name = name
    }

    /// Appends the encoded header to `buffer`.
    ///
    /// - Precondition: ``port`` is not 0 and ``name`` has at most ``maxNameLength`` UTF-8 bytes; callers that take
    ///   these from outside data check them first.
    /// - Parameter buffer: The buffer to append to.
    public func write(into buffer: inout ByteBuffer) {
        let nameLength = self.name.utf8.count
        precondition(self.port != 0, "TransportHeader.port must not be 0")
        precondition(nameLength <= Self.maxNameLength, "TransportHeader.name is longer than 255 UTF-8 bytes")
        buffer.reserveCapacity(minimumWritableBytes: Self.fixedLength + nameLength)
        buffer.writeBytes(Self.magic)
        buffer.writeInteger(self.port)
        buffer.writeInteger(self.protocolHint.rawValue)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt16(nameLength))
        buffer.writeString(self.name)
    }

    /// Reads a header from the front of `buffer`.
    ///
    /// Consumes the header's bytes only when it returns a header; on `nil` or an error the buffer is unchanged. A
    /// wrong magic is reported as soon as the first differing byte is there, without waiting for 14 bytes.
    ///
    /// - Parameter buffer: The bytes received so far; the application's bytes may follow the header.
    /// - Returns: The header, or `nil` if `buffer` does not hold a complete one yet.
    /// - Throws: ``TransportHeaderError`` (`badMagic`, `invalidPort`, `unknownProtocolHint`, `nameTooLong`,
    ///   `invalidName`) when the bytes cannot start a valid header.
    public static func read(from buffer: inout ByteBuffer) throws(TransportHeaderError) -> TransportHeader? {
        let start = buffer.readerIndex
        let magicCount = min(buffer.readableBytes, Self.magic.count)
        guard buffer.readableBytesView.prefix(magicCount).elementsEqual(Self.magic.prefix(magicCount)) else {
            throw .badMagic
        }
        guard let port = buffer.getInteger(at: start + 8, as: UInt16.self),
            let hintByte = buffer.getInteger(at: start + 10, as: UInt8.self),
            let nameLength = buffer.getInteger(at: start + 12, as: UInt16.self)
        else {
            return nil
        }
        guard port != 0 else {
            throw .invalidPort
        }
        guard let hint = ProtocolHint(rawValue: hintByte) else {
            throw .unknownProtocolHint
        }
        guard Int(nameLength) <= Self.maxNameLength else {
            throw .nameTooLong
        }
        guard let nameBytes = buffer.getSlice(at: start + Self.fixedLength, length: Int(nameLength)) else {
            return nil
        }
        guard let name = String(validating: nameBytes.readableBytesView, as: UTF8.self) else {
            throw .invalidName
        }
        buffer.moveReaderIndex(forwardBy: Self.fixedLength + Int(nameLength))
        return TransportHeader(port: port, protocolHint: hint, name: name)
    }
}
