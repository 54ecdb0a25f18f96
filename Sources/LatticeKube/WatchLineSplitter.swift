import NIOCore

/// Splits a watch response body, which arrives in arbitrary chunks, into its newline-delimited JSON lines.
///
/// A value type fed by the single task reading the body; no locking.
struct WatchLineSplitter {
    /// The longest line accepted; a longer one means a broken stream (or an absurd object), not something to buffer.
    let maximumLineLength: Int
    private var buffer: ByteBuffer
    /// How many readable bytes have already been searched for a newline without finding one.
    private var scanned: Int

    init(maximumLineLength: Int = 16 * 1024 * 1024) {
        self.maximumLineLength = maximumLineLength
        self.buffer = ByteBuffer()
        self.scanned = 0
    }

    /// Adds a chunk and returns the lines it completed, without their newlines; blank lines are skipped.
    ///
    /// - Throws: ``KubernetesError`` with code ``KubernetesError/Code/decoding`` if a line exceeds the maximum.
    mutating func append(_ chunk: ByteBuffer) throws -> [ByteBuffer] {
        var chunk = chunk
        self.buffer.writeBuffer(&chunk)
        var lines: [ByteBuffer] = []
        while true {
            let view = self.buffer.readableBytesView
            let searchStart = view.index(view.startIndex, offsetBy: self.scanned)
            guard let newline = view[searchStart...].firstIndex(of: UInt8(ascii: "\n")) else {
                self.scanned = view.count
                break
            }
            let length = view.distance(from: view.startIndex, to: newline)
            var line = self.buffer.readSlice(length: length)!
            self.buffer.moveReaderIndex(forwardBy: 1)
            self.scanned = 0
            Self.trimCarriageReturn(&line)
            if line.readableBytes > 0 {
                lines.append(line)
            }
        }
        guard self.buffer.readableBytes <= self.maximumLineLength else {
            throw KubernetesError(
                code: .decoding,
                reason: "watch stream line longer than \(self.maximumLineLength) bytes"
            )
        }
        if self.buffer.readerIndex > 64 * 1024 {
            self.buffer.discardReadBytes()
        }
        return lines
    }

    /// Returns what is left after the body ended: a last line without a newline, or `nil` if there is none.
    mutating func finish() -> ByteBuffer? {
        var rest = self.buffer.readSlice(length: self.buffer.readableBytes)!
        self.scanned = 0
        Self.trimCarriageReturn(&rest)
        let isBlank = rest.readableBytesView.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        return isBlank ? nil : rest
    }

    private static func trimCarriageReturn(_ line: inout ByteBuffer) {
        if line.readableBytesView.last == UInt8(ascii: "\r") {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
    }
}
