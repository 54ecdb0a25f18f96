/// Helm's `--set`, `--set-string` and `--set-file` arguments, with Helm's semantics (`helm.sh/helm/v3/pkg/strvals`):
/// `a.b=c` sets a nested key, `a=1,b=2` sets two, `\,` and `\.` escape, `list[0]=x` indexes, `{x,y}` is a list;
/// `--set` types `true`/`false` as booleans, `null` as a deletion and integers without a leading zero as numbers,
/// everything else stays a string; `--set-file key=path` sets the file's content as a string.
public enum SetArgument {
    /// What a `--set`-style flag assigns.
    public enum Kind: Sendable {
        /// `--set`: values are typed as Helm types them.
        case typed
        /// `--set-string`: values stay strings.
        case string
        /// `--set-file`: values are paths whose content becomes the string value.
        case file
    }

    /// One assignment: a path and the value to put there.
    public struct Assignment: Sendable, Equatable {
        public let path: [ValuePath.Step]
        public let value: ValueTree
    }

    /// Parses one flag's argument into assignments.
    ///
    /// - Parameters:
    ///   - argument: what follows `--set` (`a.b=1,c=x`).
    ///   - kind: how values are typed.
    ///   - readFile: reads a `--set-file` path (injected so parsing stays pure).
    /// - Throws: ``ManifestsError`` naming the argument and what a valid one looks like.
    public static func parse(
        _ argument: String,
        kind: Kind,
        readFile: (String) throws(ManifestsError) -> String = { path throws(ManifestsError) in
            throw ManifestsError(.unreadableFile, "\(path): files cannot be read here")
        }
    ) throws(ManifestsError) -> [Assignment] {
        var assignments: [Assignment] = []
        for part in try self.splitTopLevel(argument) where !part.isEmpty {
            guard let equals = self.firstUnescapedEquals(in: part) else {
                throw ManifestsError(
                    .invalidSet,
                    "'\(part)' has no '=': write KEY=VALUE (e.g. --set proxy.logLevel=debug)"
                )
            }
            let keyText = String(part[part.startIndex..<equals])
            let rawValue = String(part[part.index(after: equals)...])
            let path = try ValuePath.parse(keyText)
            let value: ValueTree
            switch kind {
            case .file:
                value = .string(try readFile(self.unescape(rawValue)))
            case .string:
                value = self.listOrScalar(rawValue) { .string($0) }
            case .typed:
                value = self.listOrScalar(rawValue, Self.typed)
            }
            assignments.append(Assignment(path: path, value: value))
        }
        return assignments
    }

    /// Helm's typing of a `--set` scalar.
    public static func typed(_ text: String) -> ValueTree {
        if text.lowercased() == "true" { return .bool(true) }
        if text.lowercased() == "false" { return .bool(false) }
        if text == "null" { return .null }
        if text == "0" { return .int(0) }
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        if !digits.isEmpty, !digits.hasPrefix("0"), digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
            let number = Int(text)
        {
            return .int(number)
        }
        return .string(text)
    }

    private static func listOrScalar(_ raw: String, _ scalar: (String) -> ValueTree) -> ValueTree {
        if raw.hasPrefix("{"), raw.hasSuffix("}"), raw.count >= 2 {
            // As Helm: `{}` is a list of one empty string, not an empty list.
            let inner = raw.dropFirst().dropLast()
            return .array(self.splitUnescaped(String(inner), on: ",").map { scalar(self.unescape($0)) })
        }
        return scalar(self.unescape(raw))
    }

    /// Splits on commas that are neither escaped nor inside `{…}`.
    private static func splitTopLevel(_ text: String) throws(ManifestsError) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        var escaped = false
        for character in text {
            if escaped {
                current.append("\\")
                current.append(character)
                escaped = false
                continue
            }
            switch character {
            case "\\": escaped = true
            case "{": depth += 1; current.append(character)
            case "}": depth -= 1; current.append(character)
            case "," where depth == 0:
                parts.append(current)
                current = ""
            default: current.append(character)
            }
        }
        if escaped { current.append("\\") }
        guard depth == 0 else {
            throw ManifestsError(.invalidSet, "'\(text)': a '{' list is not closed (write key={a,b})")
        }
        parts.append(current)
        return parts
    }

    private static func splitUnescaped(_ text: String, on separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var escaped = false
        for character in text {
            if escaped {
                current.append("\\")
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == separator {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts
    }

    private static func firstUnescapedEquals(in text: String) -> String.Index? {
        var escaped = false
        for index in text.indices {
            let character = text[index]
            if escaped {
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "=" {
                return index
            }
        }
        return nil
    }

    /// Removes the escaping backslash from `\,` `\=` `\{` `\}` `\\` in a value (a path keeps `\.` for ValuePath).
    private static func unescape(_ text: String) -> String {
        var result = ""
        var escaped = false
        for character in text {
            if escaped {
                result.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                result.append(character)
            }
        }
        if escaped { result.append("\\") }
        return result
    }
}
