import NIOCore
import Testing

@testable import LatticeKube

@Suite
struct WatchLineSplitterTests {
    private func split(_ text: String, chunkSize: Int) throws -> [String] {
        var splitter = WatchLineSplitter()
        let bytes = Array(text.utf8)
        var lines: [String] = []
        for start in stride(from: 0, to: bytes.count, by: chunkSize) {
            let chunk = ByteBuffer(bytes: bytes[start..<min(start + chunkSize, bytes.count)])
            lines += try splitter.append(chunk).map { String(buffer: $0) }
        }
        if let rest = splitter.finish() {
            lines.append(String(buffer: rest))
        }
        return lines
    }

    @Test(arguments: [1, 2, 3, 5, 8, 1_000])
    func splitsLinesAcrossAnyChunking(chunkSize: Int) throws {
        let text = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n{\"d\":4}"
        #expect(try self.split(text, chunkSize: chunkSize) == [#"{"a":1}"#, #"{"b":2}"#, #"{"c":3}"#, #"{"d":4}"#])
    }

    @Test
    func blankTailIsNotALine() throws {
        #expect(try self.split("{}\n  ", chunkSize: 2) == ["{}"])
    }

    @Test
    func anOverlongLineIsRejected() throws {
        var splitter = WatchLineSplitter(maximumLineLength: 8)
        _ = try splitter.append(ByteBuffer(string: "12345"))
        #expect(throws: KubernetesError(code: .decoding, reason: "")) {
            try splitter.append(ByteBuffer(string: "6789"))
        }
    }
}
