import NIOCore

/// Tells TLS, HTTP/1, HTTP/2 prior knowledge and everything else apart from the first bytes a client sends.
///
/// The detector is pure: it looks at a buffer's readable bytes without consuming them and keeps no state, so a
/// caller buffers what it has read and asks again after every read until the answer is
/// ``DetectionResult/detected(_:)``. Every rule has a bound, so a caller that keeps appending bytes always gets a
/// decision by the time it holds ``maxBufferedBytes`` bytes:
///
/// - **TLS**: a handshake record header (`0x16 0x03 0x00…0x04`, then a big-endian `u16` length) whose record holds a
///   ClientHello. The detector waits for the complete first record (at most 2^14 + 5 bytes) and reads the SNI
///   `host_name` from it. A ClientHello continued in a second record is read only as far as the first record goes:
///   the SNI is found when it lies in the first record (it does for every ClientHello under 16 KiB) and is `nil`
///   otherwise. A malformed record or ClientHello is still ``DetectedProtocol/tls(serverName:)`` with a `nil` name.
/// - **HTTP/2**: the 24-byte prior-knowledge preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`.
/// - **HTTP/1**: a request line `METHOD SP request-target SP HTTP/1.<digit> CRLF` with one of the methods GET, HEAD,
///   POST, PUT, DELETE, CONNECT, OPTIONS, TRACE and PATCH. The detector waits while the bytes are a prefix of such a
///   line shorter than ``maxHTTP1RequestLineLength``.
/// - **Opaque**: anything else, for example a PostgreSQL startup message or a Redis command.
public enum ProtocolDetector {
    /// The most bytes an incomplete HTTP/1 request line may take before the connection is judged opaque.
    public static let maxHTTP1RequestLineLength = 8 * 1024

    /// The most bytes a caller needs to buffer before ``detect(_:)`` is guaranteed to decide.
    public static let maxBufferedBytes = 16 * 1024 + 5

    /// Decides which protocol the readable bytes of `buffer` begin with.
    ///
    /// The buffer is not modified. Any bytes after the part the decision is based on are ignored.
    ///
    /// - Parameter buffer: The bytes read from the connection so far.
    /// - Returns: ``DetectionResult/needMoreData`` while the bytes (or an empty buffer) could still become more than
    ///   one answer, otherwise the detected protocol.
    public static func detect(_ buffer: ByteBuffer) -> DetectionResult {
        guard let first = buffer.readableBytesView.first else {
            return .needMoreData
        }
        if first == TLSRecord.handshakeContentType {
            return Self.detectTLS(buffer)
        }
        switch Self.matchHTTP2Preface(buffer.readableBytesView) {
        case .complete:
            return .detected(.http2)
        case .prefix:
            return .needMoreData
        case .mismatch:
            return Self.detectHTTP1(buffer.readableBytesView)
        }
    }
}

// MARK: - HTTP/2 and HTTP/1

extension ProtocolDetector {
    private enum PrefixMatch {
        case complete
        case prefix
        case mismatch
    }

    /// The HTTP/2 client connection preface (RFC 9113, section 3.4).
    private static let http2Preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// The request methods that mark a connection as HTTP/1.
    private static let http1Methods: [[UInt8]] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ].map { Array($0.utf8) }

    /// The length of the longest entry of ``http1Methods``.
    private static let maxMethodLength = 7

    /// `HTTP/1.` followed by one digit, CR and LF.
    private static let http1VersionPrefix: [UInt8] = Array("HTTP/1.".utf8)

    private static func matchHTTP2Preface(_ bytes: ByteBufferView) -> PrefixMatch {
        let count = min(bytes.count, Self.http2Preface.count)
        guard bytes.prefix(count).elementsEqual(Self.http2Preface.prefix(count)) else {
            return .mismatch
        }
        return count == Self.http2Preface.count ? .complete : .prefix
    }

    private static func detectHTTP1(_ bytes: ByteBufferView) -> DetectionResult {
        switch Self.matchRequestLine(bytes) {
        case .complete:
            return .detected(.http1)
        case .mismatch:
            return .detected(.opaque)
        case .prefix:
            return bytes.count < Self.maxHTTP1RequestLineLength ? .needMoreData : .detected(.opaque)
        }
    }

    /// Matches `METHOD SP request-target SP HTTP/1.<digit> CRLF` against the start of `bytes`.
    private static func matchRequestLine(_ bytes: ByteBufferView) -> PrefixMatch {
        let space = UInt8(ascii: " ")
        var index = bytes.startIndex

        // The method: a prefix of a known method while no space has been seen.
        while index < bytes.endIndex, bytes[index] != space {
            guard index - bytes.startIndex < Self.maxMethodLength else {
                return .mismatch
            }
            index += 1
        }
        let method = bytes[bytes.startIndex..<index]
        guard index < bytes.endIndex else {
            return Self.http1Methods.contains { $0.starts(with: method) } ? .prefix : .mismatch
        }
        guard Self.http1Methods.contains(where: { $0.elementsEqual(method) }) else {
            return .mismatch
        }
        index += 1

        // The request target: at least one visible byte.
        let targetStart = index
        while index < bytes.endIndex, bytes[index] != space {
            guard Self.isRequestTargetByte(bytes[index]) else {
                return .mismatch
            }
            index += 1
        }
        guard index < bytes.endIndex else {
            return .prefix
        }
        guard index > targetStart else {
            return .mismatch
        }
        index += 1

        // The version and the line end.
        let expectedCount = Self.http1VersionPrefix.count + 3
        for offset in 0..<expectedCount {
            guard index < bytes.endIndex else {
                return .prefix
            }
            let byte = bytes[index]
            let isExpected: Bool
            switch offset {
            case 0..<Self.http1VersionPrefix.count:
                isExpected = byte == Self.http1VersionPrefix[offset]
            case Self.http1VersionPrefix.count:
                isExpected = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            case Self.http1VersionPrefix.count + 1:
                isExpected = byte == UInt8(ascii: "\r")
            default:
                isExpected = byte == UInt8(ascii: "\n")
            }
            guard isExpected else {
                return .mismatch
            }
            index += 1
        }
        return .complete
    }

    /// Visible ASCII and obs-text; no controls, spaces or DEL.
    private static func isRequestTargetByte(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || byte >= 0x80
    }
}
