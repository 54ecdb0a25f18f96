import LatticeProxyCore
import NIOHTTP1

/// The hop-by-hop headers of an HTTP/1 message (RFC 9110 §7.6.1), which a proxy must not pass on: `connection`, the
/// names it lists, `keep-alive`, `proxy-connection` and `upgrade`.
///
/// Every HTTP/1 request and response goes through here, and most carry one (`connection: keep-alive`), so the work is
/// shaped for that: one pass to find which are present, without allocating, then a removal of just those.
/// (`HTTPHeaders.remove(name:)` rewrites the header storage, copying it when the parsed message still shares it, even
/// when nothing matches; `subscript(canonicalForm:)` builds arrays.)
enum HopByHopHeaders {
    struct Present: OptionSet {
        let rawValue: UInt8
        static let connection = Present(rawValue: 1)
        static let keepAlive = Present(rawValue: 2)
        static let proxyConnection = Present(rawValue: 4)
        static let upgrade = Present(rawValue: 8)
    }

    /// Which of the fixed hop-by-hop names `headers` carry: one pass, no allocation.
    static func present(in headers: HTTPHeaders) -> Present {
        var found: Present = []
        for (name, _) in headers {
            let bytes = name.utf8
            switch bytes.count {
            case 7 where bytes.equalsCaseInsensitive("upgrade"): found.insert(.upgrade)
            case 10 where bytes.equalsCaseInsensitive("connection"): found.insert(.connection)
            case 10 where bytes.equalsCaseInsensitive("keep-alive"): found.insert(.keepAlive)
            case 16 where bytes.equalsCaseInsensitive("proxy-connection"): found.insert(.proxyConnection)
            default: break
            }
        }
        return found
    }

    /// Removes every hop-by-hop header from `headers`; leaves them untouched (no copy) when there is none.
    static func remove(from headers: inout HTTPHeaders) {
        let found = Self.present(in: headers)
        if found.isEmpty { return }
        if found.contains(.connection) {
            // The names `connection` lists are hop-by-hop too; `close` and `keep-alive` are options, the common case,
            // and cost nothing here.
            var listed: [String] = []
            for (name, value) in headers where name.utf8.count == 10 && name.utf8.equalsCaseInsensitive("connection") {
                Self.forEachToken(in: value) { token in
                    // `close` and `keep-alive` are options. The framing headers stay whatever `connection` says: the
                    // encoder frames the body from them, and a body de-chunked on the way in, its
                    // `transfer-encoding` removed, would go on unframed (a smuggled request).
                    if !token.equalsCaseInsensitive("close") && !token.equalsCaseInsensitive("keep-alive")
                        && !token.equalsCaseInsensitive("transfer-encoding") && !token.equalsCaseInsensitive("content-length")
                    {
                        listed.append(String(decoding: token, as: UTF8.self).lowercased())
                    }
                }
            }
            for name in listed where headers.contains(name: name) { headers.remove(name: name) }
            headers.remove(name: "connection")
        }
        if found.contains(.keepAlive) { headers.remove(name: "keep-alive") }
        if found.contains(.proxyConnection) { headers.remove(name: "proxy-connection") }
        if found.contains(.upgrade) { headers.remove(name: "upgrade") }
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
