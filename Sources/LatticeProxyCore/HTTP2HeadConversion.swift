import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// Header blocks to and from the HTTP/1-style heads the proxy's request handler works with, for a stream whose
/// request came in on HTTP/2 and goes out on HTTP/2 (the proxy keeps a request's HTTP version end to end).
///
/// NIO's codecs (`HTTP2FramePayloadToHTTP1ServerCodec`, `…ClientCodec`) make the same conversions for any HTTP/1
/// peer: every name is lower-cased into a new string on the way out, `transfer-encoding: chunked` or
/// `content-length: 0` is added on the way in (and taken out again on the way out), and each head is copied into an
/// intermediate array twice: ~8 % of an HTTP/2 request's instructions in each proxy (callgrind). Here:
/// - Blocks read have passed ``HTTP2HeaderBlockRules`` (``HTTP2HeaderBlockValidator`` is before the codec in every
///   stream): names are lowercase tokens, pseudo-headers come first and are each there at most once, values are clean.
///   Their fields are taken as they are.
/// - Blocks written are made from those fields plus the proxy's own (`l5d-client-id`, its error responses), so a name
///   is lower-cased only if it has an upper-case letter, and connection-specific fields (and any a `connection` field
///   lists) are left out, as HTTP/2 requires.
/// - A request's `host` (or, without one, its `:authority`) carries the authority across, as in NIO's codecs.
/// - Credentials are never indexed in a block written (``block(_:hasCredentials:)`` says why).
public enum HTTP2HeadConversion {
    /// The request a client's first header block carries. `host` comes first: the `:authority` when the block has no
    /// `host` of its own.
    public static func requestHead(from block: HPACKHeaders) throws -> HTTPRequestHead {
        var method: String?
        var path: String?
        var scheme: String?
        var authority: String?
        var hasHost = false
        var fields: [(String, String)] = []
        fields.reserveCapacity(block.count)
        fields.append(("host", ""))  // filled in below, or removed if the block has its own
        for (name, value, _) in block {
            if name.utf8.first == UInt8(ascii: ":") {
                switch name {
                case ":method": method = value
                case ":path": path = value
                case ":scheme": scheme = value
                case ":authority": authority = value
                default: break
                }
            } else {
                if !hasHost && name.utf8.count == 4 && name.utf8.equalsCaseInsensitive("host") { hasHost = true }
                fields.append((name, value))
            }
        }
        guard let method else { throw NIOHTTP2Errors.missingPseudoHeader(":method") }
        guard let path else { throw NIOHTTP2Errors.missingPseudoHeader(":path") }
        guard scheme != nil else { throw NIOHTTP2Errors.missingPseudoHeader(":scheme") }
        if hasHost {
            fields.removeFirst()
        } else {
            guard let authority else { throw NIOHTTP2Errors.missingPseudoHeader(":authority") }
            fields[0].1 = authority
        }
        return HTTPRequestHead(
            version: .http2,
            method: HTTPMethod(rawValue: method),
            uri: path,
            headers: HTTPHeaders(fields)
        )
    }

    /// The response (informational or final) an upstream's header block carries.
    public static func responseHead(from block: HPACKHeaders) throws -> HTTPResponseHead {
        var status: String?
        var fields: [(String, String)] = []
        fields.reserveCapacity(block.count)
        for (name, value, _) in block {
            if name.utf8.first == UInt8(ascii: ":") {
                if name == ":status" { status = value }
            } else {
                fields.append((name, value))
            }
        }
        guard let status else { throw NIOHTTP2Errors.missingPseudoHeader(":status") }
        guard let code = Self.statusCode(status) else { throw NIOHTTP2Errors.invalidStatusValue(status) }
        return HTTPResponseHead(version: .http2, status: HTTPResponseStatus(statusCode: code), headers: HTTPHeaders(fields))
    }

    /// A trailers block's fields.
    public static func trailers(from block: HPACKHeaders) -> HTTPHeaders {
        var fields: [(String, String)] = []
        fields.reserveCapacity(block.count)
        for (name, value, _) in block where name.utf8.first != UInt8(ascii: ":") {
            fields.append((name, value))
        }
        return HTTPHeaders(fields)
    }

    /// The header block for a request sent upstream: `:path`, `:method`, `:scheme`, and `:authority` from `host`.
    public static func requestBlock(for head: HTTPRequestHead, scheme: String) throws -> HPACKHeaders {
        var authority: String?
        for (name, value) in head.headers where name.utf8.count == 4 && name.utf8.equalsCaseInsensitive("host") {
            guard authority == nil else { throw NIOHTTP2Errors.duplicateHostHeader() }
            authority = value
        }
        guard let authority else { throw NIOHTTP2Errors.missingHostHeader() }
        var fields: [(String, String)] = []
        fields.reserveCapacity(head.headers.count + 3)
        fields.append((":path", head.uri))
        fields.append((":method", head.method.rawValue))
        fields.append((":scheme", scheme))
        fields.append((":authority", authority))
        let hasCredentials = Self.append(head.headers, to: &fields, hostIsPseudo: true)
        return Self.block(fields, hasCredentials: hasCredentials)
    }

    /// The header block for a response sent to a client.
    public static func responseBlock(for head: HTTPResponseHead) -> HPACKHeaders {
        var fields: [(String, String)] = []
        fields.reserveCapacity(head.headers.count + 1)
        fields.append((":status", String(head.status.code)))
        let hasCredentials = Self.append(head.headers, to: &fields, hostIsPseudo: false)
        return Self.block(fields, hasCredentials: hasCredentials)
    }

    /// The header block for trailers, either way.
    public static func trailersBlock(for trailers: HTTPHeaders) -> HPACKHeaders {
        var fields: [(String, String)] = []
        fields.reserveCapacity(trailers.count)
        let hasCredentials = Self.append(trailers, to: &fields, hostIsPseudo: false)
        return Self.block(fields, hasCredentials: hasCredentials)
    }

    /// The block of `fields`. Credentials (`authorization`, `proxy-authorization`, `cookie`, `set-cookie`) are never
    /// indexed (RFC 7541 §7.1.3): an upstream connection carries the requests of many clients (and a client proxy's
    /// connection the requests of its whole app, attacker-influenced fields among them), and a credential in the
    /// shared compression table could be guessed from the size of what follows it. The peer's own never-indexed
    /// marking does not survive the request's HTTP/1-style head, so these names are marked whatever it said.
    private static func block(_ fields: [(String, String)], hasCredentials: Bool) -> HPACKHeaders {
        guard hasCredentials else { return HPACKHeaders(fields) }
        var block = HPACKHeaders()
        block.reserveCapacity(fields.count)
        for (name, value) in fields {
            block.add(name: name, value: value, indexing: FieldName(name) == .credential ? .neverIndexed : .indexable)
        }
        return block
    }

    /// Appends `headers` to `fields`: names lower-cased where they need it, connection-specific fields (RFC 9113
    /// §8.2.2) and those a `connection` field names left out, and `host` too where it became `:authority`. (The block
    /// is made from the array at the end: `HPACKHeaders.add` checks each name's bytes again, for ASCII, every time.)
    /// Returns whether a credential is among them.
    private static func append(_ headers: HTTPHeaders, to fields: inout [(String, String)], hostIsPseudo: Bool) -> Bool {
        var connectionOptions: [String] = []
        var hasCredentials = false
        for (name, value) in headers {
            switch FieldName(name) {
            case .host where hostIsPseudo, .connectionSpecific:
                continue
            case .connection:
                connectionOptions.append(value)
                continue
            case .credential:
                hasCredentials = true
                fields.append((Self.lowercased(name), value))
            case .host, .other:
                fields.append((Self.lowercased(name), value))
            }
        }
        guard !connectionOptions.isEmpty else { return hasCredentials }
        // Rare: the fields a `connection` field lists are hop-by-hop too (pseudo-headers stay whatever it says).
        var listed: Set<String> = []
        for option in connectionOptions {
            for name in option.split(separator: ",") {
                listed.insert(name.trimmingWhitespace().lowercased())
            }
        }
        fields.removeAll { name, _ in name.utf8.first != UInt8(ascii: ":") && listed.contains(name) }
        return hasCredentials
    }

    private enum FieldName {
        case host
        case connection
        case connectionSpecific
        case credential
        case other

        init(_ name: String) {
            let bytes = name.utf8
            switch bytes.count {
            case 4: self = bytes.equalsCaseInsensitive("host") ? .host : .other
            case 6: self = bytes.equalsCaseInsensitive("cookie") ? .credential : .other
            case 7: self = bytes.equalsCaseInsensitive("upgrade") ? .connectionSpecific : .other
            case 10:
                if bytes.equalsCaseInsensitive("connection") {
                    self = .connection
                } else if bytes.equalsCaseInsensitive("keep-alive") {
                    self = .connectionSpecific
                } else {
                    self = bytes.equalsCaseInsensitive("set-cookie") ? .credential : .other
                }
            case 13: self = bytes.equalsCaseInsensitive("authorization") ? .credential : .other
            case 16: self = bytes.equalsCaseInsensitive("proxy-connection") ? .connectionSpecific : .other
            case 17: self = bytes.equalsCaseInsensitive("transfer-encoding") ? .connectionSpecific : .other
            case 19: self = bytes.equalsCaseInsensitive("proxy-authorization") ? .credential : .other
            default: self = .other
            }
        }
    }

    /// `name`, lower-cased only if it has an upper-case letter (a name from an HTTP/2 peer never has one). The bytes
    /// are scanned in place.
    private static func lowercased(_ name: String) -> String {
        let hasUpperCase =
            name.utf8.withContiguousStorageIfAvailable { bytes in
                bytes.contains(where: { $0 &- UInt8(ascii: "A") < 26 })
            } ?? name.utf8.contains(where: { $0 &- UInt8(ascii: "A") < 26 })
        return hasUpperCase ? name.lowercased() : name
    }

    /// Three digits, 100 to 999, as an Int.
    private static func statusCode(_ value: String) -> Int? {
        guard value.utf8.count == 3 else { return nil }
        var code = 0
        for byte in value.utf8 {
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            code = code * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return code >= 100 ? code : nil
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var trimmed = self
        while let first = trimmed.first, first == " " || first == "\t" { trimmed.removeFirst() }
        while let last = trimmed.last, last == " " || last == "\t" { trimmed.removeLast() }
        return trimmed
    }
}
