/// Why install values or credentials were refused. Each reason names the key or file at fault and what to do.
///
/// Equality and hashing use the code alone, so tests can build the expected error themselves.
public struct ManifestsError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: String, Hashable, Sendable {
            case invalidSet, unreadableFile, malformedValues, unknownKey, invalidValue, missingCredentials
            case invalidCredentials, issuerExpiresSoon, conflictingStrategies
        }

        private let backing: Backing
        private init(_ backing: Backing) { self.backing = backing }

        /// A `--set`/`--set-file` argument that cannot be parsed.
        public static let invalidSet = Code(.invalidSet)
        /// A values file or `--set-file` file that cannot be read.
        public static let unreadableFile = Code(.unreadableFile)
        /// A values file that is not YAML, or not a mapping.
        public static let malformedValues = Code(.malformedValues)
        /// A key the chart does not have (a typo would otherwise be ignored silently).
        public static let unknownKey = Code(.unknownKey)
        /// A key whose value has the wrong type or is out of range.
        public static let invalidValue = Code(.invalidValue)
        /// No trust anchors, issuer certificate or issuer key.
        public static let missingCredentials = Code(.missingCredentials)
        /// The issuer does not chain to the anchors, is not a CA, has the wrong key, or has expired.
        public static let invalidCredentials = Code(.invalidCredentials)
        /// The issuer expires within the minimum validity window.
        public static let issuerExpiresSoon = Code(.issuerExpiresSoon)
        /// Namespace-wide and per-service injection are both switched on.
        public static let conflictingStrategies = Code(.conflictingStrategies)

        public var description: String { self.backing.rawValue }
    }

    public let code: Code
    public let reason: String
    public let file: String
    public let line: Int

    public init(_ code: Code, _ reason: String, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String { self.reason }
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}
