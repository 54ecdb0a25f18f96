import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Temporary directories and files for tests, removed by the test that made them.
public enum TestFiles {
    /// Makes a fresh directory under the system temp folder.
    public static func makeDirectory(_ prefix: String = "lattice-test") throws -> String {
        let path = "\(FileManager.default.temporaryDirectory.path)/\(prefix)-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs `body` with a fresh directory, removed afterwards even when `body` throws.
    public static func withDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        let directory = try self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return try await body(directory)
    }

    public static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(filePath: path))
    }

    public static func read(_ path: String) throws -> String {
        String(decoding: try Data(contentsOf: URL(filePath: path)), as: UTF8.self)
    }

    /// The permission bits of a file.
    public static func mode(_ path: String) -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { return -1 }
        return Int(info.st_mode & 0o777)
    }
}
