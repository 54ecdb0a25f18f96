import NIOCore
import NIOHTTP1

/// How an HTTP/1 message's body is delimited on the wire.
public enum HTTP1BodyFraming: Sendable {
    case contentLength
    case chunked
    /// No body, or one that ends when the connection does (HTTP/1.0).
    case neither
}

/// Serialises an HTTP/1 head (start line and header block) into one buffer sized up front, copying each name and
/// value once, and frames the body in the same pass that writes the headers.
///
/// A response is framed as NIO's `HTTPResponseEncoder` frames it (its `automaticallySetFramingHeaders`):
/// - one that cannot have a body loses `content-length` and `transfer-encoding`;
/// - one with `content-length` loses `transfer-encoding`;
/// - an HTTP/1.1 one without `content-length` gets `transfer-encoding: chunked` (replacing any other transfer coding,
///   as NIO's `replaceOrAdd` does).
///
/// A request is framed as the proxy's HTTP/1 decoder (llhttp) framed it on the way in, which is not always as NIO's
/// `HTTPRequestEncoder` would: NIO decides a GET's (or DELETE's, …) framing from whether its first `transfer-encoding`
/// is exactly `chunked`, while llhttp de-chunks `Chunked` or `gzip, chunked` too. NIO's encoder then wrote the
/// de-chunked bytes as they were, which the upstream read as a request of their own (request smuggling). So:
/// - any `transfer-encoding` means the body arrived chunked: it goes on re-chunked, under one
///   `transfer-encoding: chunked`, without `content-length`;
/// - otherwise `content-length` frames it;
/// - otherwise POST, PUT and PATCH are chunked (a body of unknown length), and anything else has no body
///   (``HTTP1RequestEncoder`` refuses a body written for it rather than send it unframed).
///
/// NIO's encoders spent ~7 000 instructions on an eight-header response (a `setString` per name and value, each
/// through an unspecialised `dropFirst`, and `HTTPHeaders.remove`/`contains` passes for framing); this is one length
/// pass, one allocation and a `memcpy` per string.
public enum HTTP1HeadWriter {
    /// Whether a request with `method` is expected to carry a body (NIO's rule): one without framing headers is then
    /// chunked.
    static func expectsBody(_ method: HTTPMethod) -> Bool {
        switch method {
        case .POST, .PUT, .PATCH: return true
        default: return false
        }
    }

    /// What happens to a head's hop-by-hop headers (RFC 9110 §7.6.1).
    public enum HopByHop: Sendable, Equatable {
        /// Written as they are.
        case kept
        /// Not written: `connection`, the names it lists, `keep-alive`, `proxy-connection` and `upgrade`, as a proxy
        /// must. Dropped while writing, so the parsed head is never copied to remove them. `connection` can't name
        /// the framing headers away: the body is framed from them. `close`: the proxy's own `connection: close` is
        /// written after the rest.
        case dropped(close: Bool)
    }

    /// `head` in a buffer of its own, and how its body is framed.
    public static func write(
        _ head: HTTPRequestHead,
        hopByHop: HopByHop = .kept,
        allocator: ByteBufferAllocator
    ) -> (head: ByteBuffer, framing: HTTP1BodyFraming) {
        let method = head.method.rawValue
        let version = VersionText(head.version)
        let startLength = method.utf8.count + 1 + head.uri.utf8.count + 1 + version.length + 2
        return self.write(
            headers: head.headers,
            rule: .request(expectsBody: self.expectsBody(head.method)),
            hopByHop: hopByHop,
            version: head.version,
            startLength: startLength,
            allocator: allocator
        ) { cursor in
            cursor.put(method)
            cursor.put(UInt8(ascii: " "))
            cursor.put(head.uri)
            cursor.put(UInt8(ascii: " "))
            version.put(into: &cursor)
            cursor.putCRLF()
        }
    }

    /// `head` in a buffer of its own, and how its body is framed; `mayHaveBody`: false for 1xx, 204, 304 or an answer
    /// to CONNECT (its framing headers are dropped).
    public static func write(
        _ head: HTTPResponseHead,
        mayHaveBody: Bool,
        hopByHop: HopByHop = .kept,
        allocator: ByteBufferAllocator
    ) -> (head: ByteBuffer, framing: HTTP1BodyFraming) {
        let version = VersionText(head.version)
        let code = Int(head.status.code)
        // Three digits as they come from a parser; anything else as NIO writes it.
        let otherCode: String? = (100...999).contains(code) ? nil : String(code)
        let reason = head.status.reasonPhrase
        let startLength = version.length + 1 + (otherCode?.utf8.count ?? 3) + 1 + reason.utf8.count + 2
        return self.write(
            headers: head.headers,
            rule: .response(mayHaveBody: mayHaveBody),
            hopByHop: hopByHop,
            version: head.version,
            startLength: startLength,
            allocator: allocator
        ) { cursor in
            version.put(into: &cursor)
            cursor.put(UInt8(ascii: " "))
            if let otherCode {
                cursor.put(otherCode)
            } else {
                cursor.put(UInt8(ascii: "0") &+ UInt8(code / 100))
                cursor.put(UInt8(ascii: "0") &+ UInt8(code / 10 % 10))
                cursor.put(UInt8(ascii: "0") &+ UInt8(code % 10))
            }
            cursor.put(UInt8(ascii: " "))
            cursor.put(reason)
            cursor.putCRLF()
        }
    }

    /// Writes a chunked body's last chunk and its trailers (or none).
    public static func writeLastChunk(trailers: HTTPHeaders?, into buffer: inout ByteBuffer) {
        guard let trailers, !trailers.isEmpty else {
            buffer.writeStaticString("0\r\n\r\n")
            return
        }
        var length = 3 + 2
        for (name, value) in trailers { length &+= name.utf8.count &+ value.utf8.count &+ 4 }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { bytes in
            var cursor = Cursor(bytes)
            cursor.put(UInt8(ascii: "0"))
            cursor.putCRLF()
            for (name, value) in trailers { cursor.putField(name, value) }
            cursor.putCRLF()
            return cursor.written
        }
    }

    private static let chunkedField = (name: "transfer-encoding", value: "chunked")
    private static let closeField = (name: "connection", value: "close")

    /// How a head's framing is decided.
    private enum FramingRule {
        /// A request as the decoder framed it; `expectsBody`: POST, PUT, PATCH.
        case request(expectsBody: Bool)
        case response(mayHaveBody: Bool)
    }

    private static func write(
        headers: HTTPHeaders,
        rule: FramingRule,
        hopByHop: HopByHop,
        version: HTTPVersion,
        startLength: Int,
        allocator: ByteBufferAllocator,
        startLine: (inout Cursor) -> Void
    ) -> (head: ByteBuffer, framing: HTTP1BodyFraming) {
        // One pass: the header block's length (an upper bound: dropped fields are counted too) and which framing
        // and hop-by-hop headers are there.
        let dropsHopByHop = hopByHop != .kept
        var fieldsLength = 0
        var hasContentLength = false
        var hasTransferEncoding = false
        var hasHopByHop = false
        /// Names `connection` lists besides its options (rare: usually it says only `keep-alive` or `close`).
        var listed: [String] = []
        for (name, value) in headers {
            fieldsLength &+= name.utf8.count &+ value.utf8.count &+ 4
            switch FramingField(name) {
            case .contentLength:
                hasContentLength = true
            case .transferEncoding:
                hasTransferEncoding = true
            case .connection:
                hasHopByHop = true
                if dropsHopByHop { ConnectionOptions.collectListedNames(in: value, into: &listed) }
            case .hopByHop:
                hasHopByHop = true
            case .other:
                break
            }
        }
        // As NIO: only HTTP/1.x from 1.1 on has chunked (an HTTP/2 version never reaches an HTTP/1 encoder).
        let isHTTP11OrLater = version.major == 1 && version.minor >= 1
        let framing: HTTP1BodyFraming
        var dropContentLength = false
        var dropTransferEncoding = false
        var addChunked = false
        switch rule {
        case .request where hasTransferEncoding:
            framing = .chunked
            dropTransferEncoding = true
            dropContentLength = true
            addChunked = true
        case .request where hasContentLength:
            framing = .contentLength
        case .request(let expectsBody):
            if expectsBody && isHTTP11OrLater {
                framing = .chunked
                addChunked = true
            } else {
                framing = .neither
            }
        case .response(mayHaveBody: false):
            framing = .neither
            dropContentLength = true
            dropTransferEncoding = true
        case .response where hasContentLength:
            framing = .contentLength
            dropTransferEncoding = true
        case .response:
            if isHTTP11OrLater {
                framing = .chunked
                dropTransferEncoding = true
                addChunked = true
            } else {
                framing = .neither
            }
        }
        let dropsHopByHopNow = dropsHopByHop && hasHopByHop
        let dropsAny =
            (dropContentLength && hasContentLength) || (dropTransferEncoding && hasTransferEncoding) || dropsHopByHopNow
        let chunkedLength = self.chunkedField.name.utf8.count + self.chunkedField.value.utf8.count + 4
        let addsClose = hopByHop == .dropped(close: true)
        let closeLength = self.closeField.name.utf8.count + self.closeField.value.utf8.count + 4
        let length = startLength &+ fieldsLength &+ (addChunked ? chunkedLength : 0) &+ (addsClose ? closeLength : 0) &+ 2
        var buffer = allocator.buffer(capacity: length)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { bytes in
            var cursor = Cursor(bytes)
            startLine(&cursor)
            for (name, value) in headers {
                if dropsAny {
                    switch FramingField(name) {
                    case .contentLength where dropContentLength: continue
                    case .transferEncoding where dropTransferEncoding: continue
                    case .connection where dropsHopByHopNow, .hopByHop where dropsHopByHopNow: continue
                    case .other where !listed.isEmpty:
                        if listed.contains(where: { $0.utf8.count == name.utf8.count && $0 == name.lowercased() }) { continue }
                    default: break
                    }
                }
                cursor.putField(name, value)
            }
            if addChunked { cursor.putField(self.chunkedField.name, self.chunkedField.value) }
            if addsClose { cursor.putField(self.closeField.name, self.closeField.value) }
            cursor.putCRLF()
            return cursor.written
        }
        return (buffer, framing)
    }
}

/// The framing or hop-by-hop header a header name is, if any (ASCII case-insensitive).
private enum FramingField {
    case contentLength
    case transferEncoding
    case connection
    /// `keep-alive`, `proxy-connection`, `upgrade`.
    case hopByHop
    case other

    init(_ name: String) {
        let count = name.utf8.count
        guard count == 7 || count == 10 || count == 14 || count == 16 || count == 17 else {
            self = .other
            return
        }
        // Compared over the name's own bytes: iterating a String's UTF8View costs several times more.
        self =
            name.utf8.withContiguousStorageIfAvailable { bytes in
                switch count {
                case 7: return bytes.equalsCaseInsensitive("upgrade") ? .hopByHop : .other
                case 10:
                    if bytes.equalsCaseInsensitive("connection") { return .connection }
                    return bytes.equalsCaseInsensitive("keep-alive") ? .hopByHop : .other
                case 14: return bytes.equalsCaseInsensitive("content-length") ? .contentLength : .other
                case 16: return bytes.equalsCaseInsensitive("proxy-connection") ? .hopByHop : .other
                default: return bytes.equalsCaseInsensitive("transfer-encoding") ? .transferEncoding : .other
                }
            } ?? .other
    }
}

/// The tokens of a `connection` header.
enum ConnectionOptions {
    /// Adds to `names`, lowercased, each name `value` lists other than the options `close` and `keep-alive`, the
    /// framing headers (which `connection` can't remove: the body is framed from them, and a body de-chunked on the
    /// way in, its `transfer-encoding` gone, would go on unframed, a smuggled request) and `l5d-client-id` (the proxy's
    /// own, the client's verified identity, which the client must not be able to take away).
    static func collectListedNames(in value: String, into names: inout [String]) {
        Self.forEachToken(in: value) { token in
            if !token.equalsCaseInsensitive("close") && !token.equalsCaseInsensitive("keep-alive")
                && !token.equalsCaseInsensitive("transfer-encoding") && !token.equalsCaseInsensitive("content-length")
                && !token.equalsCaseInsensitive("l5d-client-id")
            {
                names.append(String(decoding: token, as: UTF8.self).lowercased())
            }
        }
    }

    /// Calls `body` with each token of a comma-separated list, spaces and tabs around it trimmed, empty ones skipped.
    static func forEachToken(in value: String, _ body: (Substring.UTF8View) -> Void) {
        let bytes = Substring(value).utf8
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: ",")) ?? bytes.endIndex
            var token = bytes[start..<end]
            while let first = token.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { token = token.dropFirst() }
            while let last = token.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { token = token.dropLast() }
            if !token.isEmpty { body(token) }
            start = end < bytes.endIndex ? bytes.index(after: end) : end
        }
    }
}

/// The start line's version, written without building a String for the usual ones.
private struct VersionText {
    let version: HTTPVersion
    let other: String?

    init(_ version: HTTPVersion) {
        self.version = version
        self.other = version.major == 1 && version.minor <= 1 ? nil : "HTTP/\(version.major).\(version.minor)"
    }

    var length: Int { self.other?.utf8.count ?? 8 }

    func put(into cursor: inout Cursor) {
        if let other = self.other {
            cursor.put(other)
        } else {
            cursor.put("HTTP/1." as StaticString)
            cursor.put(self.version.minor == 1 ? UInt8(ascii: "1") : UInt8(ascii: "0"))
        }
    }
}

/// Writes into a buffer whose length was counted first; every `put` stays inside it (a count that was wrong traps).
private struct Cursor {
    let bytes: UnsafeMutableRawBufferPointer
    private(set) var written = 0

    init(_ bytes: UnsafeMutableRawBufferPointer) { self.bytes = bytes }

    mutating func put(_ byte: UInt8) {
        precondition(self.written < self.bytes.count)
        self.bytes[self.written] = byte
        self.written &+= 1
    }

    mutating func putCRLF() {
        self.put(UInt8(ascii: "\r"))
        self.put(UInt8(ascii: "\n"))
    }

    mutating func put(_ string: StaticString) {
        self.copy(UnsafeRawBufferPointer(start: string.utf8Start, count: string.utf8CodeUnitCount))
    }

    mutating func put(_ string: String) {
        let copied: Void? = string.utf8.withContiguousStorageIfAvailable { self.copy(UnsafeRawBufferPointer($0)) }
        if copied == nil { for byte in string.utf8 { self.put(byte) } }
    }

    mutating func putField(_ name: String, _ value: String) {
        self.put(name)
        self.put(UInt8(ascii: ":"))
        self.put(UInt8(ascii: " "))
        self.put(value)
        self.putCRLF()
    }

    private mutating func copy(_ source: UnsafeRawBufferPointer) {
        guard let base = source.baseAddress, source.count > 0 else { return }
        precondition(source.count <= self.bytes.count &- self.written)
        (self.bytes.baseAddress! + self.written).copyMemory(from: base, byteCount: source.count)
        self.written &+= source.count
    }
}
