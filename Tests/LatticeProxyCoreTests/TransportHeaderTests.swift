import LatticeProxyCore
import NIOCore
import Testing

@Suite struct TransportHeaderTests {
    private static let examples: [TransportHeader] = [
        TransportHeader(port: 8080, protocolHint: .http1, name: "web.default.svc.cluster.local:8080"),
        TransportHeader(port: 1, protocolHint: .opaque, name: ""),
        TransportHeader(port: 65535, protocolHint: .http2, name: "café.example"),
        TransportHeader(port: 5432, protocolHint: .opaque, name: String(repeating: "n", count: 255)),
    ]

    private func encoded(_ header: TransportHeader) -> ByteBuffer {
        var buffer = ByteBuffer()
        header.write(into: &buffer)
        return buffer
    }

    @Test func encodingMatchesTheDocumentedLayout() {
        let bytes = self.encoded(TransportHeader(port: 8080, protocolHint: .http2, name: "web"))
        #expect(bytes == ByteBuffer(hex: "4c545448 4452310a 1f90 02 00 0003 776562"))
    }

    @Test(arguments: Self.examples)
    func roundTrip(header: TransportHeader) throws {
        var buffer = self.encoded(header)
        #expect(buffer.readableBytes == TransportHeader.fixedLength + header.name.utf8.count)
        #expect(try TransportHeader.read(from: &buffer) == header)
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: Self.examples)
    func everyPrefixNeedsMoreBytesAndConsumesNothing(header: TransportHeader) throws {
        let bytes = self.encoded(header)
        for length in 0..<bytes.readableBytes {
            var prefix = bytes.getSlice(at: 0, length: length)!
            #expect(try TransportHeader.read(from: &prefix) == nil)
            #expect(prefix.readableBytes == length)
        }
    }

    @Test func bytesAfterTheHeaderStayInTheBuffer() throws {
        var buffer = self.encoded(TransportHeader(port: 443, protocolHint: .opaque, name: "x"))
        buffer.writeString("\u{16}\u{3}\u{1}payload")
        #expect(try TransportHeader.read(from: &buffer) == TransportHeader(port: 443, protocolHint: .opaque, name: "x"))
        #expect(buffer.readString(length: buffer.readableBytes) == "\u{16}\u{3}\u{1}payload")
    }

    @Test func reservedByteIsIgnored() throws {
        var buffer = self.encoded(TransportHeader(port: 80, protocolHint: .http1, name: "a"))
        buffer.setInteger(UInt8(0x7F), at: 11)
        #expect(try TransportHeader.read(from: &buffer) == TransportHeader(port: 80, protocolHint: .http1, name: "a"))
    }

    @Test(arguments: ["4d", "4c5455", "4c5454484452310d", "4c54544844523220", "474554202f20"])
    func badMagicIsReportedAtTheFirstWrongByte(hex: String) {
        var buffer = ByteBuffer(hex: hex)
        #expect(throws: TransportHeaderError.badMagic) {
            try TransportHeader.read(from: &buffer)
        }
        #expect(buffer == ByteBuffer(hex: hex))
    }

    /// Each field error, with the offset and value that causes it.
    @Test(
        arguments: [
            (8, [0x00, 0x00], TransportHeaderError.invalidPort),
            (10, [0x03], .unknownProtocolHint),
            (10, [0xFF], .unknownProtocolHint),
            (12, [0x01, 0x00], .nameTooLong),
            (12, [0xFF, 0xFF], .nameTooLong),
            (14, [0xFF], .invalidName),
            (14, [0xC3], .invalidName),
            (15, [0x80], .invalidName),
        ] as [(Int, [UInt8], TransportHeaderError)]
    )
    func fieldErrors(offset: Int, bytes: [UInt8], error: TransportHeaderError) {
        var buffer = self.encoded(TransportHeader(port: 9000, protocolHint: .http1, name: "ok"))
        buffer.setBytes(bytes, at: offset)
        let before = buffer
        #expect(throws: error) {
            try TransportHeader.read(from: &buffer)
        }
        #expect(buffer == before)
    }

    @Test func errorsCompareByCodeAndDescribeThemselves() {
        #expect(TransportHeaderError.badMagic == .badMagic)
        #expect(TransportHeaderError.badMagic != .truncated)
        #expect("\(TransportHeaderError.nameTooLong)".contains("255"))
    }
}
