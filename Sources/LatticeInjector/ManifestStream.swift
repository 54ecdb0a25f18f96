/// A multi-document YAML stream split into its documents, each with its original text, so a tool can rewrite some
/// documents and give every other one back byte for byte.
///
/// A document starts after a line that is `---` (optionally followed by a space and more: a comment or the start of
/// the document's content). `...` lines (document end markers) stay part of the text they end.
public struct ManifestStream: Sendable, Hashable {
    public struct Document: Sendable, Hashable {
        /// The `---` marker that opened the document (`""` for a first document without one). What follows `---` on
        /// its line belongs to ``text``.
        public var marker: String
        /// The document's text exactly as written.
        public var text: String
    }

    public var documents: [Document]

    public init(documents: [Document]) {
        self.documents = documents
    }

    /// Splits `text`; joining the documents' markers and texts gives `text` back exactly.
    public init(splitting text: String) {
        var documents: [Document] = []
        var marker = ""
        var current = text.startIndex
        var lineStart = text.startIndex
        let scalars = text.unicodeScalars
        while lineStart < text.endIndex {
            var lineEnd = lineStart
            while lineEnd < text.endIndex && scalars[lineEnd] != "\n" { lineEnd = scalars.index(after: lineEnd) }
            if lineEnd < text.endIndex { lineEnd = scalars.index(after: lineEnd) }
            if Self.isMarker(text[lineStart..<lineEnd]) {
                // Nothing before a leading marker is no document at all.
                if !(documents.isEmpty && marker.isEmpty && current == lineStart) {
                    documents.append(Document(marker: marker, text: String(text[current..<lineStart])))
                }
                marker = "---"
                current = scalars.index(lineStart, offsetBy: 3)
            }
            lineStart = lineEnd
        }
        if current < text.endIndex || !marker.isEmpty {
            documents.append(Document(marker: marker, text: String(text[current..<text.endIndex])))
        }
        self.documents = documents
    }

    private static func isMarker(_ line: Substring) -> Bool {
        guard line.hasPrefix("---") else { return false }
        let rest = line.dropFirst(3)
        guard let next = rest.first else { return true }
        return next == " " || next == "\t" || next == "\n" || next == "\r"
    }

    /// The stream as text again.
    public var text: String {
        var out = ""
        for document in self.documents {
            out += document.marker
            out += document.text
        }
        return out
    }
}
