import Foundation

/// The processes a demo started, stopped together (last started, first stopped), even when the demo fails.
final class MeshProcesses: @unchecked Sendable {
    struct Started {
        var name: String
        var process: Process
        var log: String
    }

    /// Where `lattice`, `lattice-proxy` and `lattice-controller` are: next to the running `lattice`.
    let binDirectory: String
    let logDirectory: String
    private let lock = NSLock()
    private var started: [Started] = []

    init(logDirectory: String) throws {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        self.binDirectory = (exe as NSString).deletingLastPathComponent
        self.logDirectory = logDirectory
        for binary in ["lattice-proxy", "lattice-controller"] {
            let path = (self.binDirectory as NSString).appendingPathComponent(binary)
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw CLIError(
                    "\(path) not found: the demo starts it. Build everything first (scripts/demo does), or run "
                        + "`swift build --product \(binary)`"
                )
            }
        }
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
    }

    func path(of binary: String) -> String { (self.binDirectory as NSString).appendingPathComponent(binary) }

    /// Starts `binary` with `arguments`; its stdout and stderr go to `LOGDIR/NAME.log`.
    @discardableResult
    func start(_ name: String, binary: String, arguments: [String], environment: [String: String] = [:]) throws -> Started {
        let log = (self.logDirectory as NSString).appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: log) else { throw CLIError("cannot write \(log)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: self.path(of: binary))
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw CLIError("cannot start \(name) (\(self.path(of: binary))): \(error)")
        }
        let entry = Started(name: name, process: process, log: log)
        self.lock.withLock { self.started.append(entry) }
        return entry
    }

    /// The processes that have exited while they should be running.
    var exited: [Started] { self.lock.withLock { self.started.filter { !$0.process.isRunning } } }

    /// SIGTERM to each (last started first), then SIGKILL to any still running after `grace`.
    func stopAll(grace: TimeInterval = 5) {
        let all = self.lock.withLock { () -> [Started] in
            defer { self.started.removeAll() }
            return self.started.reversed()
        }
        for entry in all where entry.process.isRunning { entry.process.terminate() }
        let deadline = Date().addingTimeInterval(grace)
        while Date() < deadline && all.contains(where: { $0.process.isRunning }) { usleep(50_000) }
        for entry in all where entry.process.isRunning { kill(entry.process.processIdentifier, SIGKILL) }
        for entry in all { entry.process.waitUntilExit() }
    }

    /// The last lines of a process's log, for an error message.
    static func tail(_ log: String, lines: Int = 8) -> String {
        guard let data = FileManager.default.contents(atPath: log) else { return "" }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").suffix(lines).joined(separator: "\n")
    }
}
