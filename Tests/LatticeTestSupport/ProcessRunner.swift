import Foundation

/// Runs the package's own executables and system tools from tests.
public enum ProcessRunner {
    /// The folder holding the built executables: beside the test binary (`.build/<triple>/debug`), or
    /// `LATTICE_BIN_DIR`.
    public static var binDirectory: String {
        if let override = ProcessInfo.processInfo.environment["LATTICE_BIN_DIR"] { return override }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(filePath: exe).deletingLastPathComponent()
        // The test binary may sit inside a bundle folder (`…PackageTests.xctest/`).
        while directory.path.contains(".xctest") { directory = directory.deletingLastPathComponent() }
        return directory.path
    }

    public static func executable(_ name: String) -> String { "\(self.binDirectory)/\(name)" }

    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs a program to completion and collects its output (bounded by `timeout`).
    public static func run(
        _ path: String,
        _ arguments: [String],
        currentDirectory: String? = nil,
        timeout: Double = 60
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(filePath: path)
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = URL(filePath: currentDirectory) }
        // Output goes to files, so a chatty process never blocks on a full pipe.
        let directory = try TestFiles.makeDirectory("lattice-run")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outPath = "\(directory)/stdout"
        let errPath = "\(directory)/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let out = try FileHandle(forWritingTo: URL(filePath: outPath))
        let err = try FileHandle(forWritingTo: URL(filePath: errPath))
        defer {
            try? out.close()
            try? err.close()
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        if process.isRunning {
            process.terminate()
            let grace = Date().addingTimeInterval(2)
            while process.isRunning && Date() < grace { usleep(5_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus,
            stdout: (try? TestFiles.read(outPath)) ?? "",
            stderr: (try? TestFiles.read(errPath)) ?? ""
        )
    }

    /// Whether a system tool is on the PATH.
    public static func which(_ tool: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// A long-running child process (a controller under test), stopped when the test ends.
public final class BackgroundProcess: @unchecked Sendable {
    // Only touched from the test that owns it.
    public let process: Process
    public let logPath: String

    public init(_ path: String, _ arguments: [String], logPath: String) throws {
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(filePath: logPath))
        self.process = Process()
        self.process.executableURL = URL(filePath: path)
        self.process.arguments = arguments
        self.process.standardOutput = log
        self.process.standardError = log
        self.process.standardInput = FileHandle.nullDevice
        try self.process.run()
    }

    public var log: String { (try? TestFiles.read(self.logPath)) ?? "" }

    /// Sends SIGTERM and waits (bounded) for the exit; SIGKILL after the grace period.
    public func stop(grace: Double = 10) {
        guard self.process.isRunning else { return }
        self.process.terminate()
        let deadline = Date().addingTimeInterval(grace)
        while self.process.isRunning && Date() < deadline { usleep(10_000) }
        if self.process.isRunning { kill(self.process.processIdentifier, SIGKILL) }
        self.process.waitUntilExit()
    }

    deinit { self.stop(grace: 2) }
}

/// Polls `condition` until it holds or `timeout` passes; never a bare sleep in a test.
public func eventually(
    timeout: Duration = .seconds(15),
    interval: Duration = .milliseconds(25),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
