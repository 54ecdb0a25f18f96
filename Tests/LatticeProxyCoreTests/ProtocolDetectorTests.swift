import LatticeProxyCore
import NIOCore
import Testing

@Suite struct ProtocolDetectorTests {
    // MARK: - Helpers

    /// Feeds every prefix of `bytes` and returns the length of the first prefix that gave a decision, checking that
    /// every shorter one asked for more and every longer one gives the same answer.
    private func firstDecidingLength(
        _ bytes: ByteBuffer,
        expected: DetectedProtocol,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> Int? {
        var deciding: Int?
        for length in 0...bytes.readableBytes {
            let prefix = bytes.getSlice(at: bytes.readerIndex, length: length)!
            let result = ProtocolDetector.detect(prefix)
            if deciding == nil, result == .needMoreData {
                continue
            }
            deciding = deciding ?? length
            #expect(result == .detected(expected), "prefix of \(length) bytes", sourceLocation: sourceLocation)
        }
        return deciding
    }

    // MARK: - TLS

    @Test func capturedClientHelloGivesServerName() {
        let hello = ClientHelloFixtures.withServerName
        #expect(ProtocolDetector.detect(hello) == .detected(.tls(serverName: ClientHelloFixtures.serverName)))
    }

    @Test func capturedClientHelloWithoutSNIGivesNoServerName() {
        #expect(ProtocolDetector.detect(ClientHelloFixtures.withoutServerName) == .detected(.tls(serverName: nil)))
    }

    @Test func clientHelloSplitAtEveryByteWaitsForTheWholeRecord() {
        let hello = ClientHelloFixtures.withServerName
        let deciding = self.firstDecidingLength(hello, expected: .tls(serverName: ClientHelloFixtures.serverName))
        #expect(deciding == hello.readableBytes)
    }

    @Test func bytesAfterTheRecordAreIgnoredAndNothingIsConsumed() {
        var buffer = ByteBuffer(string: "junk")
        buffer.moveReaderIndex(forwardBy: 4)
        buffer.writeImmutableBuffer(ClientHelloFixtures.withServerName)
        buffer.writeString("GET / HTTP/1.1\r\n")
        let before = buffer
        #expect(ProtocolDetector.detect(buffer) == .detected(.tls(serverName: ClientHelloFixtures.serverName)))
        #expect(buffer == before)
        #expect(buffer.readerIndex == 4)
    }

    @Test(arguments: [UInt16(0x0300), 0x0301, 0x0302, 0x0303, 0x0304])
    func everyRecordVersionIsTLS(version: UInt16) {
        var builder = ClientHelloBuilder(serverName: "a.example")
        builder.recordVersion = version
        #expect(ProtocolDetector.detect(builder.record) == .detected(.tls(serverName: "a.example")))
    }

    @Test func serverNameAfterOtherExtensionsIsFound() {
        var builder = ClientHelloBuilder()
        builder.extensions = [
            ClientHelloBuilder.padding(100),
            ClientHelloBuilder.serverName([(1, [0x01]), (0, Array("b.example".utf8))]),
            ClientHelloBuilder.padding(3),
        ]
        #expect(ProtocolDetector.detect(builder.record) == .detected(.tls(serverName: "b.example")))
    }

    @Test func clientHelloInTwoRecordsUsesTheFirstRecord() {
        var builder = ClientHelloBuilder()
        builder.extensions = [ClientHelloBuilder.serverName([(0, Array("c.example".utf8))]), .init(type: 21, body: [])]
        let message = builder.handshakeMessage

        // The SNI lies in the first record: found, and the second record is not needed.
        let late = builder.twoRecords(firstLength: message.count - 4)
        let lateDecision = self.firstDecidingLength(late, expected: .tls(serverName: "c.example"))
        #expect(lateDecision == 5 + message.count - 4)

        // The SNI starts in the second record: TLS without a name.
        let early = builder.twoRecords(firstLength: 40)
        #expect(ProtocolDetector.detect(early) == .detected(.tls(serverName: nil)))
    }

    @Test func largestRecordIsAwaitedAndDecided() {
        var builder = ClientHelloBuilder(serverName: "d.example")
        let sizeWithoutPadding = builder.handshakeMessage.count
        builder.extensions.append(ClientHelloBuilder.padding(16 * 1024 - sizeWithoutPadding - 4))
        let record = builder.record
        #expect(record.readableBytes == ProtocolDetector.maxBufferedBytes)
        #expect(ProtocolDetector.detect(record.getSlice(at: 0, length: record.readableBytes - 1)!) == .needMoreData)
        #expect(ProtocolDetector.detect(record) == .detected(.tls(serverName: "d.example")))
    }

    /// Malformed records and ClientHellos, each still judged TLS, without a name.
    @Test(arguments: [
        "16030100 00",  // zero-length record
        "16030140 01" + String(repeating: "00", count: 64),  // record longer than 2^14
        "16030100 0402000000",  // a ServerHello
        "16030100 04010000ff",  // ClientHello whose length runs past the record
        "16030100 0101",  // handshake header cut short
        "16030100 06010000020303",  // body cut inside the random
        "16030100 2701000023" + "0303" + String(repeating: "00", count: 32) + "20",  // session id past the end
        "16030100 ff" + String(repeating: "ff", count: 255),  // all ones
        "16030100 05" + "0100000000",  // empty ClientHello body
    ])
    func malformedClientHelloIsTLSWithoutName(hex: String) {
        #expect(ProtocolDetector.detect(ByteBuffer(hex: hex)) == .detected(.tls(serverName: nil)))
    }

    @Test func invalidHostNamesAreDropped() {
        let names: [[UInt8]] = [[], Array("bad name".utf8), [0x63, 0xC3, 0xA9], Array(repeating: 0x61, count: 256)]
        for name in names {
            var builder = ClientHelloBuilder()
            builder.extensions = [ClientHelloBuilder.serverName([(0, name)])]
            #expect(ProtocolDetector.detect(builder.record) == .detected(.tls(serverName: nil)), "\(name)")
        }
    }

    @Test func serverNameListWithoutHostNameGivesNoName() {
        var builder = ClientHelloBuilder()
        builder.extensions = [ClientHelloBuilder.serverName([(7, Array("e.example".utf8))])]
        #expect(ProtocolDetector.detect(builder.record) == .detected(.tls(serverName: nil)))
    }

    /// Every byte of a real ClientHello replaced by a few values: always an answer, never a crash or a hang.
    @Test func corruptedClientHellosNeverCrash() {
        let original = ClientHelloFixtures.withServerName
        for index in 0..<original.readableBytes {
            let byte = original.getInteger(at: index, as: UInt8.self)!
            for replacement in [0x00, 0xFF, byte ^ 0x80, byte &+ 1] {
                var corrupted = original
                corrupted.setInteger(replacement, at: index)
                _ = ProtocolDetector.detect(corrupted)
                _ = ProtocolDetector.detect(corrupted.getSlice(at: 0, length: index + 1)!)
            }
        }
    }

    @Test(arguments: ["1604", "160305", "1600", "16ff0100"])
    func handshakeTypeWithoutTLSVersionIsOpaque(hex: String) {
        #expect(ProtocolDetector.detect(ByteBuffer(hex: hex)) == .detected(.opaque))
    }

    @Test(arguments: ["16", "1603", "160303", "16030300"])
    func recordHeaderPrefixNeedsMoreData(hex: String) {
        #expect(ProtocolDetector.detect(ByteBuffer(hex: hex)) == .needMoreData)
    }

    // MARK: - HTTP/2

    @Test func http2PrefaceByteByByte() {
        var preface = ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        preface.writeBytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  // an empty SETTINGS frame
        #expect(self.firstDecidingLength(preface, expected: .http2) == 24)
    }

    @Test func almostThePrefaceIsOpaque() {
        #expect(ProtocolDetector.detect(ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\n")) == .detected(.opaque))
        #expect(ProtocolDetector.detect(ByteBuffer(string: "PRI / HTTP/1.1\r\n")) == .detected(.opaque))
    }

    // MARK: - HTTP/1

    @Test(arguments: ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"])
    func http1RequestLineByteByByte(method: String) {
        let line = "\(method) /index.html?q=1 HTTP/1.1\r\n"
        let request = ByteBuffer(string: line + "Host: web\r\n\r\n")
        #expect(self.firstDecidingLength(request, expected: .http1) == line.utf8.count)
    }

    @Test(arguments: [
        "CONNECT web.default:443 HTTP/1.1\r\n",
        "OPTIONS * HTTP/1.0\r\n",
        "GET http://web/%C3%A9 HTTP/1.1\r\n",
    ])
    func http1RequestLineForms(line: String) {
        #expect(ProtocolDetector.detect(ByteBuffer(string: line)) == .detected(.http1))
    }

    @Test(arguments: [
        "get / HTTP/1.1\r\n",  // methods are case-sensitive
        "GETS / HTTP/1.1\r\n",
        "BREW / HTTP/1.1\r\n",
        "GET  / HTTP/1.1\r\n",  // empty target
        "GET /\t HTTP/1.1\r\n",  // control byte in the target
        "GET / HTTP/2.0\r\n",
        "GET / HTTP/1.1\n",
        "GET / HTTP/1.1 \r\n",
        "GET / HTTP/1.x\r\n",
        "OPTIONSX",
        "\r\nGET / HTTP/1.1\r\n",
    ])
    func notAnHTTP1RequestLineIsOpaque(bytes: String) {
        #expect(ProtocolDetector.detect(ByteBuffer(string: bytes)) == .detected(.opaque))
    }

    @Test func longRequestLineWaitsUntilTheLimit() {
        let almost = "GET /" + String(repeating: "a", count: ProtocolDetector.maxHTTP1RequestLineLength - 6)
        #expect(ProtocolDetector.detect(ByteBuffer(string: almost)) == .needMoreData)
        #expect(ProtocolDetector.detect(ByteBuffer(string: almost + "a")) == .detected(.opaque))
    }

    // MARK: - Opaque

    @Test func emptyBufferNeedsMoreData() {
        #expect(ProtocolDetector.detect(ByteBuffer()) == .needMoreData)
    }

    @Test func postgresStartupMessageIsOpaque() {
        // Length 41, protocol 3.0, "user" "app" "database" "orders".
        let startup = ByteBuffer(hex: "00000029 00030000 7573657200617070 00 6461746162617365006f726465727300 00")
        #expect(ProtocolDetector.detect(startup) == .detected(.opaque))
        // The SSLRequest a libpq client sends first.
        #expect(ProtocolDetector.detect(ByteBuffer(hex: "00000008 04d2162f")) == .detected(.opaque))
    }

    @Test func redisPingIsOpaque() {
        #expect(ProtocolDetector.detect(ByteBuffer(string: "*1\r\n$4\r\nPING\r\n")) == .detected(.opaque))
    }

    @Test(arguments: ["SSH-2.0-OpenSSH_9.6\r\n", "\u{0}", "hello", " GET / HTTP/1.1\r\n"])
    func otherBytesAreOpaque(bytes: String) {
        #expect(ProtocolDetector.detect(ByteBuffer(string: bytes)) == .detected(.opaque))
    }
}
