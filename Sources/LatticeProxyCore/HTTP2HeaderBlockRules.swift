import NIOHPACK

/// The checks RFC 9113 (§8.2, §8.3) makes of an HTTP/2 header block, as NIO's codec makes them (its
/// `headerBlockValidation`), for the blocks the proxy *receives*: ``HTTP2HeaderBlockValidator`` runs them on each
/// stream, and the codec's own validation is turned off.
///
/// The codec validated every block both ways, the blocks it sent as well as those it received, at ~13 000 instructions a
/// block: a quarter of an HTTP/2 request's cost in each proxy. What the proxy sends on HTTP/2 has already passed these
/// checks on its way in (or llhttp's, in strict mode, for HTTP/1, whose names NIO lower-cases and whose connection
/// headers it drops on the way to HTTP/2), or it is the proxy's own constants. Here each name and value is looked at
/// once, over its bytes.
public enum HTTP2HeaderBlockRules {
    /// What a block is: its place in the stream decides which pseudo-headers it must and may have.
    public enum Kind: Sendable {
        case request
        case response
        case trailers
    }

    /// Why a block is malformed; the stream that carried it is reset (PROTOCOL_ERROR).
    public struct Violation: Error, Hashable, CustomStringConvertible {
        public let problem: String
        /// The field's name as the peer sent it, cut to 64 bytes.
        public let field: String

        init(problem: String, field: String) {
            self.problem = problem
            self.field = field.utf8.count <= 64 ? field : String(decoding: field.utf8.prefix(64), as: UTF8.self) + "…"
        }

        public var description: String { "malformed HTTP/2 header block: \(self.problem) (\(self.field))" }
    }

    /// Checks `headers` as a block of `kind`; throws the first violation.
    public static func validate(_ headers: HPACKHeaders, as kind: Kind) throws(Violation) {
        var inPseudoHeaders = true
        var seen = PseudoHeaders()
        var isConnect = false
        var hasHost = false
        for (name, value, _) in headers {
            let nameKind = Self.classify(name)
            switch nameKind {
            case .invalid:
                throw Violation(problem: "a field name that is not a lowercase token", field: name)
            case .pseudo(let pseudo):
                guard inPseudoHeaders else { throw Violation(problem: "a pseudo-header after a regular field", field: name) }
                guard Self.isValidPseudoHeaderValue(value) else {
                    throw Violation(problem: "a pseudo-header value with a space or a control character", field: name)
                }
                guard let pseudo else { throw Violation(problem: "an unknown pseudo-header", field: name) }
                if pseudo == .extendedConnectProtocol {
                    // NIO's default: extended CONNECT (RFC 8441) is not offered.
                    throw Violation(problem: "an unsupported pseudo-header", field: name)
                }
                guard !seen.contains(pseudo) else { throw Violation(problem: "a repeated pseudo-header", field: name) }
                seen.insert(pseudo)
                if kind == .request {
                    if pseudo == .method { isConnect = value == "CONNECT" }
                    if pseudo == .path && value.utf8.isEmpty { throw Violation(problem: "an empty :path", field: name) }
                }
                // NIO's codec turns `:status` into an Int and traps on a negative or empty one: 100 to 599 only, and
                // never 101, which HTTP/2 has no use for (RFC 9113 §8.6).
                if pseudo == .status && !Self.isStatusCode(value) {
                    throw Violation(problem: "a :status that is not a status code from 100 to 599, 101 excepted", field: name)
                }
            case .regular(let field):
                inPseudoHeaders = false
                if field == .connectionSpecific { throw Violation(problem: "a connection-specific field", field: name) }
                guard Self.isValidFieldValue(value) else {
                    throw Violation(problem: "a field value with CR, LF or NUL", field: name)
                }
                if field == .te && kind == .request && value != "trailers" {
                    throw Violation(problem: "te other than \"trailers\"", field: name)
                }
                // A request's `host` becomes the `:authority` the proxy sends on (NIO's codecs): it is held to the
                // pseudo-header rule here, as NIO's check of the block sent held it.
                if field == .host && kind == .request {
                    guard Self.isValidPseudoHeaderValue(value) else {
                        throw Violation(problem: "a host value with a space or a control character", field: name)
                    }
                    // Two would be two authorities to choose from (HTTP/1 answers that with a 400).
                    guard !hasHost else { throw Violation(problem: "a repeated host", field: name) }
                    hasHost = true
                }
            }
        }
        let (allowed, mandatory): (PseudoHeaders, PseudoHeaders)
        switch kind {
        case .request where isConnect:
            (allowed, mandatory) = ([.method, .authority], [.method, .authority])
        case .request:
            (allowed, mandatory) = ([.path, .method, .scheme, .authority], [.path, .method, .scheme])
        case .response:
            (allowed, mandatory) = ([.status], [.status])
        case .trailers:
            (allowed, mandatory) = ([], [])
        }
        guard allowed.isSuperset(of: seen), mandatory.isSubset(of: seen) else {
            throw Violation(problem: "missing or misplaced pseudo-headers", field: seen.names)
        }
    }

    /// Whether a response block's `:status` is informational (1xx), so that the final response follows it (as NIO's
    /// stream state machine counts it).
    public static func isInterimResponse(_ headers: HPACKHeaders) -> Bool {
        headers.first(name: ":status")?.utf8.first == UInt8(ascii: "1")
    }

    private static func isStatusCode(_ value: String) -> Bool {
        guard value.utf8.count == 3, value != "101", let first = value.utf8.first,
            first >= UInt8(ascii: "1") && first <= UInt8(ascii: "5")
        else { return false }
        return value.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    // MARK: Names and values

    private enum NameKind {
        case invalid
        /// nil: a pseudo-header no RFC defines.
        case pseudo(PseudoHeaders?)
        case regular(RegularField)
    }

    private enum RegularField {
        case connectionSpecific
        case te
        case host
        case other
    }

    private static func classify(_ name: String) -> NameKind {
        let classified: NameKind? = name.utf8.withContiguousStorageIfAvailable { bytes in
            guard let first = bytes.first else { return .invalid }
            if first == UInt8(ascii: ":") {
                let base = UnsafeBufferPointer(rebasing: bytes.dropFirst())
                guard !base.isEmpty, Self.isToken(base) else { return .invalid }
                return .pseudo(PseudoHeaders(base))
            }
            guard Self.isToken(bytes) else { return .invalid }
            switch bytes.count {
            case 2: return .regular(bytes.equalsCaseInsensitive("te") ? .te : .other)
            case 4: return .regular(bytes.equalsCaseInsensitive("host") ? .host : .other)
            case 7: return .regular(bytes.equalsCaseInsensitive("upgrade") ? .connectionSpecific : .other)
            case 10:
                let specific = bytes.equalsCaseInsensitive("connection") || bytes.equalsCaseInsensitive("keep-alive")
                return .regular(specific ? .connectionSpecific : .other)
            case 16: return .regular(bytes.equalsCaseInsensitive("proxy-connection") ? .connectionSpecific : .other)
            case 17: return .regular(bytes.equalsCaseInsensitive("transfer-encoding") ? .connectionSpecific : .other)
            default: return .regular(.other)
            }
        }
        // Every native String is contiguous; a bridged one never reaches here, but is refused rather than trusted.
        return classified ?? .invalid
    }

    /// A lowercase token (RFC 9110 §5.6.2, upper case excluded as RFC 9113 §8.2.1 requires): `!#$%&'*+-.^_`|~`,
    /// digits and a–z. (Names are compared with lowercase constants once they have passed this, so the
    /// case-insensitive comparisons below are exact ones.)
    private static func isToken(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for byte in bytes {
            switch byte {
            case 0x21, 0x23...0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x30...0x39, 0x5E...0x7A, 0x7C, 0x7E: continue
            default: return false
            }
        }
        return true
    }

    /// No CR, LF or NUL anywhere (RFC 9113 §8.2.1). Space, tab and obs-text are allowed, as in NIO.
    private static func isValidFieldValue(_ value: String) -> Bool {
        value.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes where byte == 0x00 || byte == 0x0A || byte == 0x0D { return false }
            return true
        } ?? false
    }

    /// No control character, space or DEL: a pseudo-header's value becomes part of an HTTP/1 request line.
    private static func isValidPseudoHeaderValue(_ value: String) -> Bool {
        value.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes where byte <= 0x20 || byte == 0x7F { return false }
            return true
        } ?? false
    }

    private struct PseudoHeaders: OptionSet {
        let rawValue: UInt8

        static let path = PseudoHeaders(rawValue: 1 << 0)
        static let method = PseudoHeaders(rawValue: 1 << 1)
        static let scheme = PseudoHeaders(rawValue: 1 << 2)
        static let authority = PseudoHeaders(rawValue: 1 << 3)
        static let status = PseudoHeaders(rawValue: 1 << 4)
        static let extendedConnectProtocol = PseudoHeaders(rawValue: 1 << 5)

        init(rawValue: UInt8) { self.rawValue = rawValue }

        init() { self.rawValue = 0 }

        /// The pseudo-header `base` (its name after the colon) names, if RFC 9113 or RFC 8441 defines it.
        init?(_ base: UnsafeBufferPointer<UInt8>) {
            switch base.count {
            case 4 where base.equalsCaseInsensitive("path"): self = .path
            case 6 where base.equalsCaseInsensitive("method"): self = .method
            case 6 where base.equalsCaseInsensitive("scheme"): self = .scheme
            case 6 where base.equalsCaseInsensitive("status"): self = .status
            case 8 where base.equalsCaseInsensitive("protocol"): self = .extendedConnectProtocol
            case 9 where base.equalsCaseInsensitive("authority"): self = .authority
            default: return nil
            }
        }

        var names: String {
            let all: [(PseudoHeaders, String)] = [
                (.path, ":path"), (.method, ":method"), (.scheme, ":scheme"), (.authority, ":authority"),
                (.status, ":status"), (.extendedConnectProtocol, ":protocol"),
            ]
            let present = all.filter { self.contains($0.0) }.map(\.1)
            return present.isEmpty ? "none" : present.joined(separator: ", ")
        }
    }
}
