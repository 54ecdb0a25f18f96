/// The API server's version, from `GET /version`.
///
/// Managed clusters decorate the minor version (`"29+"` on GKE and EKS), so ``major`` and ``minor`` are parsed from
/// the leading digits, falling back to `gitVersion` (`v1.29.4-eks-…`). The controller uses them to decide, for
/// example, whether native sidecars (1.29+) are available.
public struct ServerVersion: Decodable, Sendable, Hashable, CustomStringConvertible {
    /// The major version, as a number.
    public var major: Int
    /// The minor version, as a number.
    public var minor: Int
    /// The full version string (`v1.29.4-eks-036c24b`), if served.
    public var gitVersion: String?
    /// The platform (`linux/amd64`), if served.
    public var platform: String?

    /// Creates a version.
    public init(major: Int, minor: Int, gitVersion: String? = nil, platform: String? = nil) {
        self.major = major
        self.minor = minor
        self.gitVersion = gitVersion
        self.platform = platform
    }

    private enum CodingKeys: String, CodingKey {
        case major
        case minor
        case gitVersion
        case platform
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let majorText = try container.decodeIfPresent(String.self, forKey: .major) ?? ""
        let minorText = try container.decodeIfPresent(String.self, forKey: .minor) ?? ""
        let gitVersion = try container.decodeIfPresent(String.self, forKey: .gitVersion)
        self.gitVersion = gitVersion
        self.platform = try container.decodeIfPresent(String.self, forKey: .platform)
        if let major = Self.leadingNumber(majorText), let minor = Self.leadingNumber(minorText) {
            self.major = major
            self.minor = minor
        } else if let (major, minor) = Self.parseGitVersion(gitVersion ?? "") {
            self.major = major
            self.minor = minor
        } else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: [],
                    debugDescription: "cannot parse a version from major \"\(majorText)\", minor \"\(minorText)\", "
                        + "gitVersion \"\(gitVersion ?? "")\""
                )
            )
        }
    }

    /// Whether this version is at least `major.minor`.
    ///
    /// - Parameters:
    ///   - major: The major version to compare with.
    ///   - minor: The minor version to compare with.
    /// - Returns: `true` if this version is the same or newer.
    public func isAtLeast(major: Int, minor: Int) -> Bool {
        (self.major, self.minor) >= (major, minor)
    }

    public var description: String {
        self.gitVersion ?? "v\(self.major).\(self.minor)"
    }

    /// The number made of the leading ASCII digits of `text` (`"29+"` → 29), or `nil` if it starts with none.
    static func leadingNumber<S: StringProtocol>(_ text: S) -> Int? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        return Int(digits)
    }

    /// Major and minor from a `gitVersion` such as `v1.29.4-eks-036c24b`.
    private static func parseGitVersion(_ gitVersion: String) -> (Int, Int)? {
        let trimmed = gitVersion.hasPrefix("v") ? gitVersion.dropFirst() : Substring(gitVersion)
        let parts = trimmed.split(separator: ".", maxSplits: 2)
        guard parts.count >= 2, let major = Self.leadingNumber(parts[0]), let minor = Self.leadingNumber(parts[1])
        else {
            return nil
        }
        return (major, minor)
    }
}
