import NIOCore

/// Constants of the TLS record layer (RFC 8446, section 5.1).
enum TLSRecord {
    /// `ContentType.handshake`.
    static let handshakeContentType: UInt8 = 0x16

    /// The major byte of every `legacy_record_version` (SSL 3.0 to TLS 1.3).
    static let versionMajor: UInt8 = 0x03

    /// The highest minor byte accepted in `legacy_record_version`.
    static let maxVersionMinor: UInt8 = 0x04

    /// The length of the record header: type, version and length.
    static let headerLength = 5

    /// The most plaintext bytes one record may carry (2^14).
    static let maxPayloadLength = 16 * 1024

    /// `HandshakeType.client_hello`.
    static let clientHelloType: UInt8 = 1

    /// `ExtensionType.server_name` (RFC 6066, section 3).
    static let serverNameExtension: UInt16 = 0

    /// `NameType.host_name`.
    static let hostNameType: UInt8 = 0
}

extension ProtocolDetector {
    /// Detects TLS in a buffer whose first byte is the handshake content type.
    static func detectTLS(_ buffer: ByteBuffer) -> DetectionResult {
        let bytes = buffer.readableBytesView
        if bytes.count > 1, bytes[bytes.startIndex + 1] != TLSRecord.versionMajor {
            return .detected(.opaque)
        }
        if bytes.count > 2, bytes[bytes.startIndex + 2] > TLSRecord.maxVersionMinor {
            return .detected(.opaque)
        }
        guard let length = buffer.getInteger(at: buffer.readerIndex + 3, as: UInt16.self) else {
            return .needMoreData
        }
        guard length > 0, Int(length) <= TLSRecord.maxPayloadLength else {
            return .detected(.tls(serverName: nil))
        }
        guard var record = buffer.getSlice(at: buffer.readerIndex + TLSRecord.headerLength, length: Int(length)) else {
            if buffer.readableBytes > Self.maxBufferedBytes {
                return .detected(.tls(serverName: nil))
            }
            return .needMoreData
        }
        return .detected(.tls(serverName: Self.readServerName(fromClientHelloRecord: &record)))
    }

    /// Reads the SNI host name from the payload of the first handshake record.
    ///
    /// Lenient about a handshake message that continues past the record: it parses what the record holds.
    ///
    /// - Returns: The host name, or `nil` if the message is not a ClientHello, is malformed, or has no valid SNI.
    private static func readServerName(fromClientHelloRecord record: inout ByteBuffer) -> String? {
        guard record.readInteger(as: UInt8.self) == TLSRecord.clientHelloType,
            let messageLength = Self.readUInt24(from: &record),
            var hello = record.readSlice(length: min(messageLength, record.readableBytes))
        else {
            return nil
        }

        // legacy_version (2), random (32), legacy_session_id <0..32>, cipher_suites <2..2^16-2>,
        // legacy_compression_methods <1..2^8-1>, then extensions <8..2^16-1>.
        guard hello.readSlice(length: 2 + 32) != nil,
            hello.readLengthPrefixedSlice(as: UInt8.self) != nil,
            hello.readLengthPrefixedSlice(as: UInt16.self) != nil,
            hello.readLengthPrefixedSlice(as: UInt8.self) != nil,
            let extensionsLength = hello.readInteger(as: UInt16.self),
            var extensions = hello.readSlice(length: min(Int(extensionsLength), hello.readableBytes))
        else {
            return nil
        }
        while let type = extensions.readInteger(as: UInt16.self),
            var body = extensions.readLengthPrefixedSlice(as: UInt16.self)
        {
            if type == TLSRecord.serverNameExtension {
                return Self.readHostName(fromServerNameExtension: &body)
            }
        }
        return nil
    }

    /// Reads the first `host_name` entry of a `ServerNameList`.
    private static func readHostName(fromServerNameExtension body: inout ByteBuffer) -> String? {
        guard var list = body.readLengthPrefixedSlice(as: UInt16.self) else {
            return nil
        }
        while let nameType = list.readInteger(as: UInt8.self),
            let name = list.readLengthPrefixedSlice(as: UInt16.self)
        {
            if nameType == TLSRecord.hostNameType {
                return Self.hostName(from: name)
            }
        }
        return nil
    }

    /// A host name of 1 to 255 visible ASCII bytes, or `nil`.
    private static func hostName(from bytes: ByteBuffer) -> String? {
        let view = bytes.readableBytesView
        guard (1...255).contains(view.count), view.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            return nil
        }
        return String(decoding: view, as: UTF8.self)
    }

    private static func readUInt24(from buffer: inout ByteBuffer) -> Int? {
        guard let high = buffer.readInteger(as: UInt8.self), let low = buffer.readInteger(as: UInt16.self) else {
            return nil
        }
        return Int(high) << 16 | Int(low)
    }
}
