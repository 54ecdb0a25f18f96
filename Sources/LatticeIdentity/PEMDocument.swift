import FoundationEssentials
import SwiftASN1

/// One `-----BEGIN X-----` block of a PEM file, decoded.
public struct PEMBlock: Sendable, Hashable {
    public let label: String
    public let der: [UInt8]
}

/// Reads PEM text into blocks, with errors that name where the text came from.
public enum PEMDocument {
    /// Splits `text` into its PEM blocks.
    ///
    /// - Parameters:
    ///   - text: the file's contents.
    ///   - source: a name for errors (usually the path).
    /// - Throws: ``IdentityError/Code/malformedPEM`` when there is no block, a block is not closed, or its base64
    ///   does not decode.
    public static func blocks(in text: String, source: String) throws(IdentityError) -> [PEMBlock] {
        var blocks: [PEMBlock] = []
        var label: String?
        var body = ""
        var lineNumber = 0
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let line = Self.trimmed(rawLine)
            if let open = label {
                if line.hasPrefix("-----END ") {
                    let endLabel = String(line.dropFirst(9).dropLast(5))
                    guard line.hasSuffix("-----"), endLabel == open else {
                        throw IdentityError(
                            .malformedPEM,
                            "\(source): line \(lineNumber): '-----END \(endLabel)-----' does not close '\(open)'"
                        )
                    }
                    guard let der = Self.decodeBase64(body), !der.isEmpty else {
                        throw IdentityError(.malformedPEM, "\(source): the \(open) block is not valid base64")
                    }
                    blocks.append(PEMBlock(label: open, der: der))
                    label = nil
                    body = ""
                } else if line.hasPrefix("-----") {
                    throw IdentityError(.malformedPEM, "\(source): line \(lineNumber): '\(open)' block is not closed")
                } else if !line.contains(":") {  // skip RFC 1421 headers (Proc-Type, DEK-Info)
                    body += line
                }
            } else if line.hasPrefix("-----BEGIN ") && line.hasSuffix("-----") {
                label = String(line.dropFirst(11).dropLast(5))
            }
        }
        if let open = label {
            throw IdentityError(.malformedPEM, "\(source): the \(open) block has no END line (truncated file?)")
        }
        guard !blocks.isEmpty else {
            throw IdentityError(.malformedPEM, "\(source): no PEM block found (expected '-----BEGIN …-----')")
        }
        return blocks
    }

    /// Reads a file as text, with an error naming the path and what is wrong with it.
    public static func readText(path: String) throws(IdentityError) -> String {
        let files = FileManager.default
        var isDirectory = false
        guard files.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw IdentityError(.unreadableFile, "\(path): no such file")
        }
        guard !isDirectory else {
            throw IdentityError(.unreadableFile, "\(path): is a directory, not a PEM file")
        }
        guard files.isReadableFile(atPath: path), let data = files.contents(atPath: path) else {
            throw IdentityError(.unreadableFile, "\(path): cannot read (permission denied?)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw IdentityError(.malformedPEM, "\(path): not text (is it DER? Lattice reads PEM files)")
        }
        return text
    }

    /// Wraps DER bytes as a PEM block.
    public static func encode(label: String, der: [UInt8]) -> String {
        let base64 = Data(der).base64EncodedString()
        var out = "-----BEGIN \(label)-----\n"
        var index = base64.startIndex
        while index < base64.endIndex {
            let end = base64.index(index, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
            out += base64[index..<end] + "\n"
            index = end
        }
        out += "-----END \(label)-----\n"
        return out
    }

    static func decodeBase64(_ s: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: s) else { return nil }
        return Array(data)
    }

    static func trimmed(_ s: Substring) -> Substring {
        var s = s
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" || last == "\r" { s.removeLast() }
        return s
    }
}
