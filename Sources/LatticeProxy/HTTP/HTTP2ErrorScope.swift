import NIOHTTP2

/// Whether an error the HTTP/2 codec fired on a connection's pipeline ended one stream or the whole connection.
///
/// For a stream error the codec has reset that stream (RST_STREAM) and goes on with the others; for a connection
/// error it has sent GOAWAY and parses no more. It fires both the same way, on the connection's pipeline and, for
/// errors it found in a received frame, unwrapped (`NIOHTTP2Errors.StreamError` is only a wrapper it uses for some).
/// So the scope is told from the error's type: the header-block, content-length and trailers checks of the stream
/// state machine only ever fail a stream. Anything else is taken as the connection's, which is how it used to be
/// taken for every error: a misread leaves a stream error closing the connection, never a dead connection open.
/// (The proxy's connections run without the codec's header-block validation, `HTTP2HeaderBlockValidator` checking the
/// blocks instead, so the header-block errors below come only from a codec configured with it.)
enum HTTP2ErrorScope {
    case stream
    case connection

    init(of error: any Error) {
        switch error {
        case is NIOHTTP2Errors.StreamError,
            // The header block of a request, a response or trailers (`HPACKHeaders+Validation`).
            is NIOHTTP2Errors.InvalidHTTP2HeaderFieldName,
            is NIOHTTP2Errors.InvalidHTTP2HeaderFieldValue,
            is NIOHTTP2Errors.ForbiddenHeaderField,
            is NIOHTTP2Errors.InvalidPseudoHeaderValue,
            is NIOHTTP2Errors.InvalidPseudoHeaders,
            is NIOHTTP2Errors.PseudoHeaderAfterRegularHeader,
            is NIOHTTP2Errors.UnknownPseudoHeader,
            is NIOHTTP2Errors.UnsupportedPseudoHeader,
            is NIOHTTP2Errors.DuplicatePseudoHeader,
            is NIOHTTP2Errors.EmptyPathHeader,
            // A body longer or shorter than its content-length, or a content-length that is not one.
            is NIOHTTP2Errors.ContentLengthViolated,
            is NIOHTTP2Errors.ContentLengthHeadersMismatch,
            is NIOHTTP2Errors.ContentLengthHeaderNegative,
            is NIOHTTP2Errors.ContentLengthHeaderMalformedValue,
            is NIOHTTP2Errors.TrailersWithoutEndStream:
            self = .stream
        default:
            self = .connection
        }
    }
}
